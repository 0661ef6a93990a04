//! Signals: writable sources of the graph.
#![allow(unsafe_code)] // Typed access to the payload's cells; see `SignalCell`.

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::Location;

use crate::error::Result;
use crate::graph::{Flags, NodeKind, NodeOps, Payload};
use crate::runtime::{HandleMarker, NodeRef, ReadBorrow, ReadFail, try_with_runtime, with_runtime};
use crate::subscribable::{Subscribable, Subscription, subscribe_to};

/// Creates a signal holding `value`; writes of an equal value (by `PartialEq`) are ignored.
///
/// The signal is owned by the current owner (a [`Root`](crate::Root), effect or computed) and
/// disposed with it.
///
/// # Examples
/// ```
/// use stateloom_core::signal;
///
/// let count = signal(1);
/// count.set(2);
/// count.update(|n| *n += 1);
/// assert_eq!(count.get(), 3);
/// ```
#[track_caller]
pub fn signal<T: PartialEq + 'static>(value: T) -> Signal<T> {
    create(value, T::eq, Location::caller())
}

/// Creates a signal that uses `equals` to decide whether a write changes its value.
///
/// Pass `|_, _| false` to notify on every write.
///
/// # Examples
/// ```
/// use stateloom_core::{effect, signal_with_equals};
/// use std::{cell::Cell, rc::Rc};
///
/// // Compare case-insensitively: "Ada" -> "ADA" is not a change.
/// let name = signal_with_equals(String::from("Ada"), |a, b| a.eq_ignore_ascii_case(b));
/// let runs = Rc::new(Cell::new(0));
/// let r = runs.clone();
/// effect(move || {
///     name.with(|_| ());
///     r.set(r.get() + 1);
/// });
/// name.set("ADA".into());
/// assert_eq!(runs.get(), 1);
/// name.set("Grace".into());
/// assert_eq!(runs.get(), 2);
/// ```
#[track_caller]
pub fn signal_with_equals<T: 'static>(value: T, equals: fn(&T, &T) -> bool) -> Signal<T> {
    create(value, equals, Location::caller())
}

/// Makes the node behind a signal; `E` is a function item for `signal` (so equality costs no
/// storage and no indirect call) and a function pointer for `signal_with_equals`.
fn create<T: 'static, E: Fn(&T, &T) -> bool + 'static>(
    value: T,
    equals: E,
    location: &'static Location<'static>,
) -> Signal<T> {
    let data = SignalData {
        cell: SignalCell {
            value: UnsafeCell::new(value),
            pending: UnsafeCell::new(MaybeUninit::uninit()),
        },
        equals,
    };
    let node = with_runtime(|rt| {
        let payload = Payload::new(&rt.blocks, data);
        rt.create(NodeKind::Signal, Flags::default(), payload, location)
    });
    Signal {
        node,
        _marker: PhantomData,
    }
}

/// A handle to a writable value in the graph.
///
/// `Signal` is `Copy`: pass it into closures freely. It is not `Send`: each thread has its own
/// graph. Reads inside a computed or effect are tracked: the reader re-runs when the value
/// changes.
///
/// # Examples
/// ```
/// use stateloom_core::{computed, signal};
///
/// let first = signal("Ada");
/// let greeting = computed(move || format!("Hello, {}!", first.get()));
/// assert_eq!(greeting.get(), "Hello, Ada!");
/// first.set("Grace");
/// assert_eq!(greeting.get(), "Hello, Grace!");
/// ```
pub struct Signal<T> {
    pub(crate) node: NodeRef,
    _marker: HandleMarker<T>,
}

/// The part of a signal's payload that handles use (it does not name the equality's type).
///
/// A write outside any batch replaces `value` at once. Inside a batch it lands in `pending`
/// and is compared with the current value when committed (at the end of the outermost batch,
/// or when read), so a batch that writes a value and then writes the old one back changes
/// nothing.
///
/// # Invariants
/// The cells are plain: the signal's node says who may touch them (see `runtime::borrow`).
/// - `value` is shared by the reads counted in the node's `borrows` and by the write flagged
///   `WRITING`, and held mutably only by a write that is alone: `update` (flagged `UPDATING`,
///   which reads refuse) or a replace with `borrows == 0` that calls no user code.
/// - `pending` holds a value exactly while the node is flagged `HAS_PENDING` (or, once the
///   node is freed, its graveyard entry says `has_pending`), and only a `WRITING` write or
///   the payload's final drop touches it.
pub(crate) struct SignalCell<T> {
    value: UnsafeCell<T>,
    pending: UnsafeCell<MaybeUninit<T>>,
}

impl<T> SignalCell<T> {
    /// Where the latest value written is: the pending write if there is one (`has_pending`),
    /// else the value.
    fn latest(&self, has_pending: bool) -> *const () {
        if has_pending {
            self.pending.get().cast()
        } else {
            self.value.get().cast()
        }
    }
}

/// A signal's payload: its cells and its equality.
///
/// # Invariants
/// `cell` stays the first field of this `#[repr(C)]` struct: handles read it through
/// `payload_prefix` without knowing `E`.
#[repr(C)]
struct SignalData<T, E> {
    cell: SignalCell<T>,
    equals: E,
}

impl<T: 'static, E: Fn(&T, &T) -> bool + 'static> NodeOps for SignalData<T, E> {
    fn value(&self) -> &dyn Any {
        &self.cell
    }

    unsafe fn commit(&self) -> bool {
        // SAFETY: the caller guarantees the slot holds a value and cleared `HAS_PENDING`, so
        // moving it out leaves the slot empty, as the flag now says.
        let new = unsafe { (*self.cell.pending.get()).assume_init_read() };
        // SAFETY: no read borrows the value and `WRITING` keeps other writes out; reads that
        // `equals` makes take shared references, as this one is.
        let unchanged = (self.equals)(unsafe { &*self.cell.value.get() }, &new);
        if unchanged {
            return false;
        }
        // SAFETY: the reads `equals` made have ended, so this is the only reference.
        let old = std::mem::replace(unsafe { &mut *self.cell.value.get() }, new);
        drop(old);
        true
    }

    unsafe fn equals(&self, a: *const (), b: *const ()) -> bool {
        // SAFETY: the caller guarantees both point at live `T`s.
        (self.equals)(unsafe { &*a.cast::<T>() }, unsafe { &*b.cast::<T>() })
    }

    unsafe fn discard_pending(&self) {
        // SAFETY: the caller guarantees the slot holds a value that nothing else uses.
        unsafe { (*self.cell.pending.get()).assume_init_drop() };
    }
}

impl<T: 'static> Signal<T> {
    /// Reads through `f`, tracked or not, honouring an active scope's override.
    #[inline]
    fn read<R>(&self, track: bool, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.read_fast(track, f)
            .map_err(|fail| fail.into_error(self.node, NodeKind::Signal))
    }

    /// [`read`](Self::read) with a small error type, so the hot path returns in registers.
    #[inline]
    fn read_fast<R>(&self, track: bool, f: impl FnOnce(&T) -> R) -> Result<R, ReadFail> {
        with_runtime(|rt| {
            let Some(cell) = rt.read_signal_fast::<SignalCell<T>>(self.node, track) else {
                return self.read_full(rt, track, f);
            };
            Ok(self.read_counted(rt, cell, f))
        })
    }

    /// Calls `f` on the value of a read that `Runtime::read` or `Runtime::read_signal_fast`
    /// counted in the node, then ends the read.
    #[inline(always)]
    fn read_counted<R>(
        &self,
        rt: &crate::runtime::Runtime,
        cell: std::ptr::NonNull<SignalCell<T>>,
        f: impl FnOnce(&T) -> R,
    ) -> R {
        // Ends the read if `f` panics.
        let borrow = ReadBorrow {
            rt,
            node: self.node,
        };
        // SAFETY: the read checked the handle's generation, so `cell` points at the
        // `SignalCell<T>` that `create` made for this node. The read is counted in the node
        // until it ends below (or `borrow` drops), so the payload stays allocated (even if the
        // node is disposed meanwhile) and no write takes the value mutably (`SignalCell`).
        let value = unsafe { &*cell.as_ref().value.get() };
        let r = f(value);
        std::mem::forget(borrow);
        rt.end_read_with(self.node, r)
    }

    /// The read [`read_fast`](Self::read_fast) falls back to: scope overrides, commits,
    /// errors. Kept out of line, so the fast path's registers stay few.
    #[cold]
    #[inline(never)]
    fn read_full<R>(
        &self,
        rt: &crate::runtime::Runtime,
        track: bool,
        f: impl FnOnce(&T) -> R,
    ) -> Result<R, ReadFail> {
        if let Some(value) = rt.scope_override(self.node) {
            let value = value
                .downcast_ref::<T>()
                .expect("scope override has the signal's type");
            return Ok(f(value));
        }
        let cell = rt.read::<SignalCell<T>>(self.node, NodeKind::Signal, track)?;
        Ok(self.read_counted(rt, cell, f))
    }

    /// Calls `f` with a reference to the value, tracked. No clone is made.
    ///
    /// # Panics
    /// If the signal was disposed (the message says where it was created), if `f` writes
    /// this same signal, or if more than 65,535 reads of this signal are nested.
    ///
    /// # Examples
    /// ```
    /// let names = stateloom_core::signal(vec!["Ada", "Grace"]);
    /// assert_eq!(names.with(|n| n.len()), 2);
    /// ```
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.read(true, f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`with`](Self::with), returning an error instead of panicking on a disposed signal.
    ///
    /// # Errors
    /// [`Error::Disposed`](crate::Error::Disposed) if the signal was disposed.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(1);
    /// assert_eq!(s.try_with(|v| *v + 1), Ok(2));
    /// ```
    pub fn try_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.read(true, f)
    }

    /// Calls `f` with a reference to the value without tracking the read.
    ///
    /// # Panics
    /// If the signal was disposed.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(String::from("hi"));
    /// assert_eq!(s.with_untracked(|v| v.len()), 2);
    /// ```
    #[track_caller]
    pub fn with_untracked<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        self.read(false, f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Writes a new value. If it differs from the current one (by the signal's equality),
    /// dependents are marked and, outside a batch, effects run before `set` returns.
    ///
    /// Writing a disposed signal does nothing; use [`try_set`](Self::try_set) to find out.
    ///
    /// # Panics
    /// If an effect run by this write panics (after the other effects ran), or if effects keep
    /// re-triggering each other ([`Error::EffectLoop`](crate::Error::EffectLoop)). If the
    /// signal's equality function writes this same signal, or the destructor of a value
    /// replaced when a batch commits does (reading it is fine).
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(1);
    /// s.set(5);
    /// assert_eq!(s.get(), 5);
    /// ```
    pub fn set(&self, value: T) {
        let _ = self.try_set(value);
    }

    /// Writes a new value, handing it back if the signal was disposed.
    ///
    /// # Errors
    /// `Err(value)` if the signal was disposed; nothing is written.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(1);
    /// assert_eq!(s.try_set(2), Ok(()));
    /// s.dispose();
    /// assert_eq!(s.try_set(3), Err(3));
    /// ```
    pub fn try_set(&self, value: T) -> std::result::Result<(), T> {
        with_runtime(|rt| {
            let Some(write) = rt.begin_write(self.node) else {
                return Err(value);
            };
            // SAFETY: the generation check in `begin_write` makes this the `SignalCell<T>` of
            // this handle's node, allocated while `write` lasts.
            let cell = unsafe { write.prefix::<SignalCell<T>>().as_ref() };
            let new = std::ptr::from_ref(&value).cast::<()>();
            if !write.flags.contains(Flags::DIRTY) && write.borrows == 0 && rt.is_idle() {
                // Outside any batch, run or flush the write commits at once: compare with the
                // current value and replace it, skipping the pending slot.
                // SAFETY: both point at live `T`s.
                if unsafe { write.ops().equals(cell.value.get().cast(), new) } {
                    return Ok(());
                }
                // SAFETY: no read borrowed the value when the write began, the reads made by
                // `equals` have ended, and `WRITING` keeps other writes out.
                let old = std::mem::replace(unsafe { &mut *cell.value.get() }, value);
                if write.end(Flags::default()) {
                    rt.signal_changed(self.node.index);
                }
                drop(old);
                return Ok(());
            }
            let has_pending = write.flags.contains(Flags::HAS_PENDING);
            let current = cell.latest(has_pending);
            // SAFETY: `current` points at the pending write (`HAS_PENDING`) or the value, both
            // readable while the write lasts; `new` at `value`.
            if unsafe { write.ops().equals(current, new) } {
                return Ok(());
            }
            // SAFETY: `WRITING` gives this write the pending slot; `HAS_PENDING` says whether
            // it holds a value to take out first.
            let old = has_pending.then(|| unsafe { (*cell.pending.get()).assume_init_read() });
            // SAFETY: as above; the slot is empty now.
            unsafe { (*cell.pending.get()).write(value) };
            if write.end(Flags::HAS_PENDING) {
                rt.signal_written(self.node.index, false);
            }
            drop(old);
            Ok(())
        })
    }

    /// Writes `value` and returns the value it replaced, unless `value` equals the current
    /// value by the signal's equality: then nothing is written or notified and `value` is
    /// handed back, as it is when the signal was disposed.
    ///
    /// Unlike [`set`](Self::set), the write is committed at once, also inside a batch (as
    /// [`update`](Self::update) is), which is what makes the previous value available; the
    /// comparison and the write are one operation. Inside a batch that already wrote the
    /// signal, the comparison and the returned value are those of the latest write. A write
    /// committed inside a batch counts as a change even if a later write in the batch restores
    /// the old value.
    ///
    /// # Errors
    /// `Err(value)` if `value` is equal to the current value, or the signal was disposed.
    ///
    /// # Panics
    /// If the signal's equality function writes this same signal, if a
    /// [`with`](Self::with) of this signal is still reading it, or as [`set`](Self::set).
    ///
    /// # Examples
    /// ```
    /// use stateloom_core::{effect, signal};
    /// use std::{cell::Cell, rc::Rc};
    ///
    /// let name = signal(String::from("Ada"));
    /// let runs = Rc::new(Cell::new(0));
    /// let r = runs.clone();
    /// effect(move || { name.with(|_| ()); r.set(r.get() + 1); });
    /// assert_eq!(name.replace("Grace".into()), Ok("Ada".to_string()));
    /// assert_eq!(name.replace("Grace".into()), Err("Grace".to_string())); // equal: no write
    /// assert_eq!(runs.get(), 2);
    /// ```
    pub fn replace(&self, value: T) -> std::result::Result<T, T> {
        with_runtime(|rt| {
            let Some(write) = rt.begin_write(self.node) else {
                return Err(value);
            };
            // SAFETY: as in `try_set`.
            let cell = unsafe { write.prefix::<SignalCell<T>>().as_ref() };
            let new = std::ptr::from_ref(&value).cast::<()>();
            let has_pending = write.flags.contains(Flags::HAS_PENDING);
            let current = cell.latest(has_pending);
            // SAFETY: `current` points at the pending write (`HAS_PENDING`) or the value, both
            // readable while the write lasts; `new` at `value`.
            if unsafe { write.ops().equals(current, new) } {
                return Err(value);
            }
            if has_pending {
                // SAFETY: `HAS_PENDING` says the slot holds a value, and `WRITING` gives this
                // write sole use of the slot (reads never look at it).
                let old =
                    std::mem::replace(unsafe { (*cell.pending.get()).assume_init_mut() }, value);
                if write.end(Flags::default()) {
                    rt.signal_written(self.node.index, false);
                }
                return Ok(old);
            }
            if write.borrows != 0 {
                drop(write);
                panic!(
                    "a signal was replaced while its value was borrowed by `with` ({})",
                    self.node.origin()
                );
            }
            // SAFETY: no read borrowed the value when the write began, the reads made by
            // `equals` have ended, and `WRITING` keeps other writes out; no user code runs
            // while the reference lives.
            let old = std::mem::replace(unsafe { &mut *cell.value.get() }, value);
            let dirty = write.flags.contains(Flags::DIRTY);
            if write.end(Flags::default()) {
                rt.signal_changed_in_place(self.node.index, dirty);
            }
            Ok(old)
        })
    }

    /// Changes the value in place. Always counts as a change (there is no old value to
    /// compare with); use [`set`](Self::set) to skip equal values.
    ///
    /// Updating a disposed signal does nothing.
    ///
    /// # Panics
    /// If `f` reads or writes this same signal, if a [`with`](Self::with) of this signal is
    /// still reading it, or as [`set`](Self::set).
    ///
    /// # Examples
    /// ```
    /// let list = stateloom_core::signal(vec![1]);
    /// list.update(|l| l.push(2));
    /// assert_eq!(list.get(), [1, 2]);
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        with_runtime(|rt| {
            let Some(write) = rt.begin_write(self.node) else {
                return;
            };
            // SAFETY: as in `try_set`.
            let cell = unsafe { write.prefix::<SignalCell<T>>().as_ref() };
            if write.flags.contains(Flags::HAS_PENDING) {
                // A write is pending in this batch: change it, not the value readers see.
                // SAFETY: `HAS_PENDING` says the slot holds a value, and `WRITING` gives this
                // write sole use of the slot (reads never look at it).
                f(unsafe { (*cell.pending.get()).assume_init_mut() });
                if write.end(Flags::default()) {
                    rt.signal_written(self.node.index, false);
                }
                return;
            }
            if write.borrows != 0 {
                drop(write);
                panic!(
                    "a signal was updated while its value was borrowed by `with` ({})",
                    self.node.origin()
                );
            }
            write.set_updating();
            // SAFETY: no read borrowed the value when the write began and `UPDATING` makes
            // new reads panic, `WRITING` keeps other writes out.
            f(unsafe { &mut *cell.value.get() });
            let dirty = write.flags.contains(Flags::DIRTY);
            if write.end(Flags::default()) {
                rt.signal_changed_in_place(self.node.index, dirty);
            }
        });
    }

    /// Disposes the signal. Idempotent; later reads fail, later writes do nothing.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(1);
    /// s.dispose();
    /// s.dispose();
    /// assert!(s.try_get().is_err());
    /// ```
    pub fn dispose(self) {
        try_with_runtime(|rt| rt.dispose(self.node));
    }

    /// Whether the signal has not been disposed.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(1);
    /// assert!(s.is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        with_runtime(|rt| rt.is_live(self.node))
    }

    /// Calls `callback` with the new value after every change (not with the current value).
    ///
    /// The callback runs as an effect, at the end of the batch that made the change, untracked.
    ///
    /// # Examples
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// let s = stateloom_core::signal(1);
    /// let seen = Rc::new(RefCell::new(Vec::new()));
    /// let log = seen.clone();
    /// let sub = s.subscribe(move |v| log.borrow_mut().push(*v));
    /// s.set(2);
    /// s.set(2);
    /// s.set(3);
    /// sub.unsubscribe();
    /// s.set(4);
    /// assert_eq!(*seen.borrow(), [2, 3]);
    /// ```
    #[track_caller]
    pub fn subscribe(&self, callback: impl FnMut(&T) + 'static) -> Subscription {
        let this = *self;
        subscribe_to(move |f| this.with(f), callback)
    }
}

impl<T: Clone + 'static> Signal<T> {
    /// Returns a clone of the value, tracked.
    ///
    /// # Panics
    /// If the signal was disposed; the message says where it was created.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(7);
    /// assert_eq!(s.get(), 7);
    /// ```
    #[track_caller]
    pub fn get(&self) -> T {
        self.with(T::clone)
    }

    /// Returns a clone of the value, or an error if the signal was disposed.
    ///
    /// # Errors
    /// [`Error::Disposed`](crate::Error::Disposed) if the signal was disposed.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(7);
    /// assert_eq!(s.try_get(), Ok(7));
    /// ```
    pub fn try_get(&self) -> Result<T> {
        self.try_with(T::clone)
    }

    /// Returns a clone of the value without tracking the read.
    ///
    /// # Panics
    /// If the signal was disposed.
    ///
    /// # Examples
    /// ```
    /// let s = stateloom_core::signal(7);
    /// assert_eq!(s.get_untracked(), 7);
    /// ```
    #[track_caller]
    pub fn get_untracked(&self) -> T {
        self.with_untracked(T::clone)
    }
}

impl<T> Signal<T> {
    /// The handle of a signal node whose payload holds a `T` (the caller's contract: an
    /// [`ErasedNode`](crate::ErasedNode) checks the value's `TypeId` first).
    #[inline(always)]
    pub(crate) fn from_node(node: NodeRef) -> Self {
        Self {
            node,
            _marker: PhantomData,
        }
    }
}

impl<T> Clone for Signal<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Signal<T> {}

impl<T> PartialEq for Signal<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T> Eq for Signal<T> {}

impl<T> std::hash::Hash for Signal<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.node.hash(state);
    }
}

impl<T> fmt::Debug for Signal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signal({:?}, {})", self.node, self.node.origin())
    }
}

impl<T: Clone + 'static> Subscribable<T> for Signal<T> {
    fn get(&self) -> T {
        Signal::get(self)
    }

    fn subscribe(&self, callback: Box<dyn FnMut(&T)>) -> Subscription {
        Signal::subscribe(self, callback)
    }
}
