//! [`ErasedNode`]: a signal or computed handle with its value type erased, for collections
//! that hold handles of many types (an atom scope's table, say) and turn them back into typed
//! handles by a checked comparison instead of a `dyn Any` downcast.

use std::any::TypeId;
use std::fmt;

use crate::computed::Computed;
use crate::runtime::{NodeRef, try_with_runtime};
use crate::signal::Signal;

/// A [`Signal`] or [`Computed`] handle whose value type is erased.
///
/// `Copy`, with no allocation: the node's key, whether it is a signal or a computed, and the
/// `TypeId` of its value. [`signal`](Self::signal) and [`computed`](Self::computed) give the
/// typed handle back when the kind and the type match, by comparing the stored `TypeId` with
/// the requested one (no virtual call, unlike a `dyn Any` downcast).
///
/// # Examples
/// ```
/// use stateloom_core::{ErasedNode, computed, signal};
///
/// let s = signal(1_i32);
/// let c = computed(move || s.get() * 2);
/// let nodes = [ErasedNode::from(s), ErasedNode::from(c)];
/// assert_eq!(nodes[0].signal::<i32>().map(|s| s.get()), Some(1));
/// assert!(nodes[0].signal::<u8>().is_none(), "another value type");
/// assert!(nodes[1].signal::<i32>().is_none(), "a computed, not a signal");
/// assert_eq!(nodes[1].computed::<i32>().map(|c| c.get()), Some(2));
/// nodes[1].dispose();
/// assert!(!c.is_alive());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErasedNode {
    node: NodeRef,
    is_signal: bool,
    type_id: TypeId,
}

impl ErasedNode {
    /// The signal, if this is a signal whose value type is `T`.
    ///
    /// # Examples
    /// See [`ErasedNode`].
    #[inline(always)]
    pub fn signal<T: 'static>(self) -> Option<Signal<T>> {
        (self.is_signal && self.type_id == TypeId::of::<T>()).then(|| Signal::from_node(self.node))
    }

    /// The computed, if this is a computed whose value type is `T`.
    ///
    /// # Examples
    /// See [`ErasedNode`].
    #[inline(always)]
    pub fn computed<T: 'static>(self) -> Option<Computed<T>> {
        (!self.is_signal && self.type_id == TypeId::of::<T>())
            .then(|| Computed::from_node(self.node))
    }

    /// The node with its kind and value type forgotten, for a table that stores many and
    /// knows by how it was filled which type each holds; see [`RawNode`].
    ///
    /// # Examples
    /// See [`RawNode`].
    #[inline(always)]
    pub fn raw(self) -> RawNode {
        RawNode {
            bits: u64::from(self.node.index) | (u64::from(self.node.generation) << 32),
            #[cfg(debug_assertions)]
            erased: self,
        }
    }

    /// Whether this is a signal (else a computed).
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::{ErasedNode, signal};
    ///
    /// assert!(ErasedNode::from(signal(1)).is_signal());
    /// ```
    pub fn is_signal(self) -> bool {
        self.is_signal
    }

    /// Disposes the node, as [`Signal::dispose`] or [`Computed::dispose`] would. Idempotent.
    ///
    /// # Examples
    /// See [`ErasedNode`].
    pub fn dispose(self) {
        try_with_runtime(|rt| rt.dispose(self.node));
    }
}

/// A [`Signal`] or [`Computed`] handle with its kind and value type forgotten and nothing
/// kept to check them: the node's key alone (8 bytes in release builds), made by
/// [`ErasedNode::raw`].
///
/// [`signal`](Self::signal) turns it back into a typed handle without a check, so it is
/// `unsafe`: for a table whose owner knows, by how each entry was made, which type it holds,
/// and reads it on a hot path where [`ErasedNode`]'s 16-byte type comparison counts. Debug
/// builds keep the type and check it.
///
/// # Examples
/// ```
/// use stateloom_core::{ErasedNode, signal};
///
/// let raw = ErasedNode::from(signal(1_i32)).raw();
/// // SAFETY: `raw` was made from a `Signal<i32>`.
/// let s = unsafe { raw.signal::<i32>() };
/// assert_eq!(s.get(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawNode {
    /// The node's index and generation in one word, so copying it out of a table and into a
    /// handle is one load and one store.
    bits: u64,
    /// What the node was, for the debug check in [`signal`](Self::signal).
    #[cfg(debug_assertions)]
    erased: ErasedNode,
}

impl RawNode {
    /// The signal, without checking the kind or the value type (debug builds check, and
    /// panic on a mismatch).
    ///
    /// # Examples
    /// See [`RawNode`].
    ///
    /// # Safety
    /// `self` must come from an [`ErasedNode`] made from a `Signal<T>` (one whose
    /// [`ErasedNode::signal`] returns `Some`). A handle of another type would read and write
    /// the node's value as a `T`.
    #[allow(unsafe_code)] // The contract is the caller's; the body is safe.
    #[inline(always)]
    #[track_caller]
    pub unsafe fn signal<T: 'static>(self) -> Signal<T> {
        #[cfg(debug_assertions)]
        assert!(
            self.erased.signal::<T>().is_some(),
            "RawNode::signal::<{}> on {:?}, made with another type or as a computed",
            std::any::type_name::<T>(),
            self.erased
        );
        Signal::from_node(self.node())
    }

    /// The node this was made from.
    #[inline(always)]
    fn node(self) -> NodeRef {
        #[cfg(debug_assertions)]
        let node = self.erased.node;
        #[cfg(not(debug_assertions))]
        let node = NodeRef {
            index: self.bits as u32,
            generation: (self.bits >> 32) as u32,
        };
        node
    }
}

impl fmt::Debug for RawNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawNode({:?})", self.node())
    }
}

impl<T: 'static> From<Signal<T>> for ErasedNode {
    fn from(signal: Signal<T>) -> Self {
        Self {
            node: signal.node,
            is_signal: true,
            type_id: TypeId::of::<T>(),
        }
    }
}

impl<T: 'static> From<Computed<T>> for ErasedNode {
    fn from(computed: Computed<T>) -> Self {
        Self {
            node: computed.node,
            is_signal: false,
            type_id: TypeId::of::<T>(),
        }
    }
}

impl fmt::Debug for ErasedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_signal { "Signal" } else { "Computed" };
        write!(f, "ErasedNode({kind}, {:?})", self.node)
    }
}
