//! Computed values: cached derivations that recompute lazily when a dependency changed.
#![allow(unsafe_code)] // Typed access to the payload; see `ComputedData`'s invariant.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};

use crate::error::{Error, Result};
use crate::graph::{Flags, NodeKind, NodeOps, Payload};
use crate::runtime::{HandleMarker, NodeRef, ReadFail, try_with_runtime, with_runtime};
use crate::subscribable::{Subscribable, Subscription, subscribe_to};

/// Creates a computed value: `f` runs on the first read and again on a read after one of the
/// values it read changed. A result equal to the previous one (by `PartialEq`) does not
/// notify dependents.
///
/// Computeds are lazy: one that nobody reads is never recomputed.
///
/// # Examples
/// ```
/// use stateloom_core::{computed, signal};
///
/// let width = signal(3);
/// let height = signal(4);
/// let area = computed(move || width.get() * height.get());
/// assert_eq!(area.get(), 12);
/// width.set(5);
/// assert_eq!(area.get(), 20);
/// ```
#[track_caller]
pub fn computed<T: PartialEq + 'static>(f: impl Fn() -> T + 'static) -> Computed<T> {
    // `T::eq` as a function item (zero-sized), so the comparison is inlined into the update.
    create(f, T::eq, Location::caller())
}

/// Creates a computed value that uses `equals` to decide whether a recomputed value changed.
///
/// # Examples
/// ```
/// use stateloom_core::{computed_with_equals, signal};
///
/// let x = signal(1.0_f64);
/// // Treat values within 0.5 of each other as equal.
/// let rounded = computed_with_equals(move || x.get(), |a, b| (a - b).abs() < 0.5);
/// assert_eq!(rounded.get(), 1.0);
/// x.set(1.2);
/// assert_eq!(rounded.get(), 1.0);
/// ```
#[track_caller]
pub fn computed_with_equals<T: 'static>(
    f: impl Fn() -> T + 'static,
    equals: fn(&T, &T) -> bool,
) -> Computed<T> {
    create(f, equals, Location::caller())
}

/// Makes the node behind a computed; `E` is a function item for `computed` (so equality
/// costs no storage and no indirect call) and a function pointer for `computed_with_equals`.
fn create<T: 'static, F: Fn() -> T + 'static, E: Fn(&T, &T) -> bool + 'static>(
    f: F,
    equals: E,
    location: &'static Location<'static>,
) -> Computed<T> {
    let data = ComputedData {
        cell: ComputedCell {
            value: RefCell::new(None),
        },
        equals,
        f,
    };
    let node = with_runtime(|rt| {
        let payload = Payload::new(&rt.blocks, data);
        rt.create(NodeKind::Computed, Flags::DIRTY, payload, location)
    });
    Computed {
        node,
        _marker: PhantomData,
    }
}

/// A handle to a derived value in the graph.
///
/// `Copy` and not `Send`, like [`Signal`](crate::Signal). Reading a computed inside another
/// computed or an effect tracks it.
///
/// # Examples
/// ```
/// use stateloom_core::{computed, signal};
///
/// let items = signal(vec![3, 1, 2]);
/// let sorted = computed(move || {
///     let mut v = items.get();
///     v.sort();
///     v
/// });
/// assert_eq!(sorted.get(), [1, 2, 3]);
/// ```
pub struct Computed<T> {
    pub(crate) node: NodeRef,
    _marker: HandleMarker<T>,
}

/// The typed part of a computed's payload that handles downcast to (it does not name the
/// closure's type).
struct ComputedCell<T> {
    value: RefCell<Option<T>>,
}

/// # Invariants
/// `cell` stays the first field of this `#[repr(C)]` struct: handles read it through
/// `payload_prefix` without knowing `F`.
#[repr(C)]
struct ComputedData<T, F, E> {
    cell: ComputedCell<T>,
    equals: E,
    f: F,
}

impl<T: 'static, F: Fn() -> T + 'static, E: Fn(&T, &T) -> bool + 'static> NodeOps
    for ComputedData<T, F, E>
{
    fn value(&self) -> &dyn Any {
        &self.cell
    }

    fn in_use(&self) -> bool {
        self.cell.value.try_borrow_mut().is_err()
    }

    fn update(&self) -> bool {
        let new = (self.f)();
        let mut slot = self.cell.value.try_borrow_mut().unwrap_or_else(|_| {
            panic!("a computed was recomputed while its value was borrowed by `with`; finish reading before writing its dependencies")
        });
        match &*slot {
            Some(old) if (self.equals)(old, &new) => false,
            _ => {
                let old = slot.replace(new);
                drop(slot);
                drop(old);
                true
            }
        }
    }
}

impl<T: 'static> Computed<T> {
    #[inline]
    fn read<R>(&self, track: bool, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.read_fast(track, f)
            .map_err(|fail| fail.into_error(self.node, NodeKind::Computed))
    }

    /// [`read`](Self::read) with a small error type, so the hot path returns in registers.
    #[inline]
    fn read_fast<R>(&self, track: bool, f: impl FnOnce(&T) -> R) -> Result<R, ReadFail> {
        with_runtime(|rt| {
            if let Some(value) = rt.scope_override(self.node) {
                let value = value
                    .downcast_ref::<T>()
                    .expect("scope override has the computed's type");
                return Ok(f(value));
            }
            let cell = rt.read::<ComputedCell<T>>(self.node, NodeKind::Computed, track)?;
            // SAFETY: `Runtime::read` checked the handle's generation, so `cell` points at the
            // first field of the `ComputedData<T, F, E>` (`#[repr(C)]`) that `create` made
            // for this node, alive now. The value cell is borrowed below before any user code
            // runs, and a payload whose value is borrowed is not dropped even if the node is
            // disposed meanwhile (`Runtime::release_payload`), so the reference stays valid
            // while it is used.
            let cell = unsafe { cell.as_ref() };
            let value = cell.value.borrow();
            let value = value
                .as_ref()
                .expect("a computed that was read successfully has a value");
            Ok(f(value))
        })
    }

    /// Reads and panics with the error's message, recording a cycle for an enclosing `try_*`.
    #[track_caller]
    fn read_or_panic<R>(&self, track: bool, f: impl FnOnce(&T) -> R) -> R {
        match self.read(track, f) {
            Ok(value) => value,
            Err(error) => {
                if let Error::Cycle { .. } = error {
                    with_runtime(|rt| rt.cycle.set(Some(error.clone())));
                }
                panic!("{error}")
            }
        }
    }

    /// Like `read`, but a cycle found deeper down (where a `get` panicked) becomes an `Err`.
    fn try_read<R>(&self, track: bool, f: impl FnOnce(&T) -> R) -> Result<R> {
        with_runtime(|rt| rt.cycle.set(None));
        match catch_unwind(AssertUnwindSafe(|| self.read(track, f))) {
            Ok(result) => result,
            Err(payload) => match with_runtime(|rt| rt.cycle.take()) {
                Some(error) => Err(error),
                None => resume_unwind(payload),
            },
        }
    }

    /// Calls `f` with a reference to the up-to-date value, tracked.
    ///
    /// # Panics
    /// If the computed was disposed or reads itself (the message says where it was created),
    /// or if its closure panics.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(2);
    /// let c = stateloom_core::computed(move || vec![0; s.get()]);
    /// assert_eq!(c.with(|v| v.len()), 2);
    /// ```
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.read_or_panic(true, f)
    }

    /// Like [`with`](Self::with), returning an error for a disposed computed or a cycle.
    ///
    /// # Errors
    /// [`Error::Disposed`] or [`Error::Cycle`].
    ///
    /// # Examples
    /// ```
    /// let c = stateloom_core::computed(|| 2);
    /// assert_eq!(c.try_with(|v| v * 2), Ok(4));
    /// ```
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.try_read(true, f)
    }

    /// Calls `f` with a reference to the up-to-date value without tracking the read.
    ///
    /// # Panics
    /// As [`with`](Self::with).
    ///
    /// # Examples
    /// ```
    /// let c = stateloom_core::computed(|| "hi");
    /// assert_eq!(c.with_untracked(|v| v.len()), 2);
    /// ```
    #[track_caller]
    pub fn with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.read_or_panic(false, f)
    }

    /// Disposes the computed and everything its closure created. Idempotent.
    ///
    /// # Examples
    /// ```
    /// let c = stateloom_core::computed(|| 1);
    /// c.dispose();
    /// assert!(c.try_get().is_err());
    /// ```
    pub fn dispose(self) {
        try_with_runtime(|rt| rt.dispose(self.node));
    }

    /// Whether the computed has not been disposed.
    ///
    /// # Examples
    /// ```
    /// assert!(stateloom_core::computed(|| 1).is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        with_runtime(|rt| rt.is_live(self.node))
    }

    /// Calls `callback` with the new value after every change (not with the current value).
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use stateloom_core::{computed, signal};
    ///
    /// let n = signal(1);
    /// let parity = computed(move || n.get() % 2);
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let log = seen.clone();
    /// let _sub = parity.subscribe(move |p| log.borrow_mut().push(*p));
    /// n.set(3); // parity unchanged
    /// n.set(4);
    /// assert_eq!(*seen.borrow(), [0]);
    /// ```
    #[track_caller]
    pub fn subscribe(&self, callback: impl FnMut(&T) + 'static) -> Subscription {
        let this = *self;
        subscribe_to(move |f| this.with(f), callback)
    }
}

impl<T: Clone + 'static> Computed<T> {
    /// Returns a clone of the up-to-date value, tracked.
    ///
    /// # Panics
    /// If the computed was disposed or reads itself, directly or through other computeds (the
    /// message says where it was created), or if its closure panics.
    ///
    /// # Examples
    /// ```
    /// let c = stateloom_core::computed(|| 40 + 2);
    /// assert_eq!(c.get(), 42);
    /// ```
    #[track_caller]
    pub fn get(&self) -> T {
        self.with(T::clone)
    }

    /// Returns a clone of the up-to-date value, or an error.
    ///
    /// # Errors
    /// [`Error::Disposed`] for a disposed computed, [`Error::Cycle`] if it reads itself,
    /// directly or through other computeds.
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::{Computed, computed};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let me: Rc<Cell<Option<Computed<i32>>>> = Rc::new(Cell::new(None));
    /// let handle = me.clone();
    /// let c = computed(move || handle.get().map_or(0, |c| c.try_get().unwrap_or(-1)));
    /// me.set(Some(c));
    /// assert_eq!(c.get(), -1); // the self-read failed with a cycle error
    /// ```
    pub fn try_get(&self) -> Result<T> {
        self.try_with(T::clone)
    }

    /// Returns a clone of the up-to-date value without tracking the read.
    ///
    /// # Panics
    /// As [`get`](Self::get).
    ///
    /// # Examples
    /// ```
    /// let c = stateloom_core::computed(|| 1);
    /// assert_eq!(c.get_untracked(), 1);
    /// ```
    #[track_caller]
    pub fn get_untracked(&self) -> T {
        self.with_untracked(T::clone)
    }
}

impl<T> Computed<T> {
    /// The handle of a computed node whose payload holds a `T` (the caller's contract: an
    /// [`ErasedNode`](crate::ErasedNode) checks the value's `TypeId` first).
    #[inline(always)]
    pub(crate) fn from_node(node: NodeRef) -> Self {
        Self {
            node,
            _marker: PhantomData,
        }
    }
}

impl<T> Clone for Computed<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Computed<T> {}

impl<T> PartialEq for Computed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T> Eq for Computed<T> {}

impl<T> std::hash::Hash for Computed<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.node.hash(state);
    }
}

impl<T> fmt::Debug for Computed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Computed({:?}, {})", self.node, self.node.origin())
    }
}

impl<T: Clone + 'static> Subscribable<T> for Computed<T> {
    fn get(&self) -> T {
        Computed::get(self)
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription {
        Computed::subscribe(self, callback)
    }
}
