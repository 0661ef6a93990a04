//! Graph nodes: their flags, kinds, list heads and the type-erased operations on their payloads.

use std::any::Any;
use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Rc;

use crate::arena::{NIL, Slot};

/// What a node is. Signals are sources, effects are consumers, computeds are both, roots only own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum NodeKind {
    /// A vacant arena slot's placeholder.
    #[default]
    Vacant = 0,
    Signal = 1,
    Computed = 2,
    Effect = 3,
    Root = 4,
}

impl NodeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            NodeKind::Signal => "signal",
            NodeKind::Computed => "computed",
            NodeKind::Effect => "effect",
            NodeKind::Root => "root",
            NodeKind::Vacant => "vacant slot",
        }
    }
}

/// Per-node state bits. A node's flags also hold its [`NodeKind`] in the bits from
/// `KIND_SHIFT` up, which the flag constants and operations never touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags(u16);

impl Flags {
    /// Signal: written since its last commit. Computed or effect: a direct dependency changed,
    /// so it must re-run without checking.
    pub(crate) const DIRTY: Flags = Flags(1);
    /// A dependency further up may have changed: check dependencies before re-running.
    pub(crate) const PENDING: Flags = Flags(1 << 1);
    /// Computed: its last run panicked or was interrupted, so the next read recomputes. Unlike
    /// `DIRTY`, it does not stop propagation, because its subscribers were not marked.
    pub(crate) const STALE: Flags = Flags(1 << 2);
    /// The node's closure is on the stack.
    pub(crate) const RUNNING: Flags = Flags(1 << 3);
    /// Effect: in the flush queue.
    pub(crate) const QUEUED: Flags = Flags(1 << 4);
    /// Disposal was requested while the node was running; it happens when the run ends.
    pub(crate) const DISPOSE_REQUESTED: Flags = Flags(1 << 5);
    /// The node has cleanups registered in `Graph::cleanups`.
    pub(crate) const HAS_CLEANUPS: Flags = Flags(1 << 6);
    /// Signal: changed in place by `update`, so its next commit reports a change.
    pub(crate) const FORCED: Flags = Flags(1 << 7);

    /// Where the node's kind starts; the flags above stay below it.
    const KIND_SHIFT: u32 = 13;

    /// The flags of a new node of `kind`.
    fn with_kind(self, kind: NodeKind) -> Flags {
        Flags(self.0 & ((1 << Self::KIND_SHIFT) - 1) | (kind as u16) << Self::KIND_SHIFT)
    }

    /// The kind stored in the top bits.
    #[inline]
    fn kind(self) -> NodeKind {
        match self.0 >> Self::KIND_SHIFT {
            1 => NodeKind::Signal,
            2 => NodeKind::Computed,
            3 => NodeKind::Effect,
            4 => NodeKind::Root,
            _ => NodeKind::Vacant,
        }
    }

    #[inline]
    pub(crate) fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    #[inline]
    pub(crate) fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    #[inline]
    pub(crate) fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    #[inline]
    pub(crate) fn remove(&mut self, other: Flags) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// The operations the runtime performs on a node's typed payload without knowing its type.
pub(crate) trait NodeOps {
    /// The typed storage a handle downcasts to (`SignalData<T>` or `ComputedCell<T>`).
    fn value(&self) -> &dyn Any;
    /// Signal: moves a pending write into the current value; returns whether the value changed.
    fn commit(&self) -> bool {
        false
    }
    /// Computed: recomputes and returns whether the value changed. Effect: runs the closure.
    fn update(&self) -> bool {
        false
    }
    /// Whether a read borrows the value right now, so the payload must outlive its node.
    fn in_use(&self) -> bool {
        false
    }
}

/// A pointer to the typed storage at the start of a node's payload, found without a dynamic
/// type check.
///
/// Typed handles use this instead of `Any::downcast_ref` on their hot paths: the handle's type
/// parameter already says what the payload holds. Dereferencing the pointer is the caller's
/// business: it is valid for as long as the payload is alive (see `Runtime::read`), and it
/// points at a `P` when `ops` is the payload of a node whose payload value is a `P`, or a
/// `#[repr(C)]` struct whose first field is a `P`. A handle satisfies this for the node it was
/// created with: the constructor that made the handle made the payload, and the slot
/// generation check in `Runtime::lookup`/`Runtime::read` guarantees `ops` belongs to that very
/// node. Debug builds check the type through [`NodeOps::value`].
#[inline(always)]
pub(crate) fn payload_prefix<P: 'static>(ops: &Rc<dyn NodeOps>) -> NonNull<P> {
    debug_assert!(ops.value().is::<P>(), "payload type matches its handle");
    NonNull::from(&**ops).cast::<P>()
}

/// One node of the graph: 56 bytes in release builds, its slot's generation included.
///
/// # Invariants
/// - `deps`..`deps_tail` and `subs`..`subs_tail` are the two ends of the node's dependency
///   and subscriber lists (`NIL` when empty); while the node runs, `deps_tail` is instead the
///   last dependency tracked by the current run.
/// - Children of an owner form a list through `prev_sibling`/`next_sibling`, newest first.
///   The first child's `prev_sibling` is its owner's index tagged with [`OWNER_TAG`]; a node
///   without an owner has `prev_sibling == NIL`.
pub(crate) struct Node {
    /// State bits and, in the top bits, the kind (see [`Node::kind`]).
    pub(crate) flags: Flags,
    /// The arena slot's generation (see [`Slot`]).
    generation: u32,
    pub(crate) deps: u32,
    pub(crate) deps_tail: u32,
    pub(crate) subs: u32,
    pub(crate) subs_tail: u32,
    pub(crate) first_child: u32,
    pub(crate) prev_sibling: u32,
    pub(crate) next_sibling: u32,
    /// Effects: creation order, used to order the flush. Signals and computeds: the stamp of
    /// the last run that tracked them, so a repeated read within one run is recognised
    /// without walking any list (see `Graph::link`). `0` is never a run's stamp.
    pub(crate) mark: u32,
    pub(crate) payload: Option<Rc<dyn NodeOps>>,
    /// Where the node was created, for error messages (debug builds only).
    #[cfg(debug_assertions)]
    pub(crate) origin: &'static Location<'static>,
}

/// Tags an owner's index in its first child's `prev_sibling`, telling it apart from a
/// sibling's index. Arena indices stay below it (see `arena::MAX_SLOTS`).
pub(crate) const OWNER_TAG: u32 = crate::arena::MAX_SLOTS;

impl Slot for Node {
    #[inline]
    fn generation(&self) -> u32 {
        self.generation
    }

    #[inline]
    fn set_generation(&mut self, generation: u32) {
        self.generation = generation;
    }
}

impl Default for Node {
    /// The placeholder left in a vacant arena slot.
    fn default() -> Self {
        Self::new(NodeKind::Vacant, Flags::default(), None, Location::caller())
    }
}

impl Node {
    /// What the node is.
    #[inline]
    pub(crate) fn kind(&self) -> NodeKind {
        self.flags.kind()
    }

    /// Where the node was created (only known in debug builds).
    pub(crate) fn origin(&self) -> crate::error::Origin {
        #[cfg(debug_assertions)]
        {
            crate::error::Origin::from_location(self.origin)
        }
        #[cfg(not(debug_assertions))]
        {
            crate::error::Origin::UNKNOWN
        }
    }

    pub(crate) fn new(
        kind: NodeKind,
        flags: Flags,
        payload: Option<Rc<dyn NodeOps>>,
        origin: &'static Location<'static>,
    ) -> Self {
        #[cfg(not(debug_assertions))]
        let _ = origin;
        Self {
            flags: flags.with_kind(kind),
            generation: 0,
            deps: NIL,
            deps_tail: NIL,
            subs: NIL,
            subs_tail: NIL,
            first_child: NIL,
            prev_sibling: NIL,
            next_sibling: NIL,
            mark: 0,
            payload,
            #[cfg(debug_assertions)]
            origin,
        }
    }
}
