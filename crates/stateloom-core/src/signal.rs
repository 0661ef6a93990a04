//! Signals: writable sources of the graph.
#![allow(unsafe_code)] // `downcast`: typed access to the payload; see its safety comment.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;

use crate::error::Result;
use crate::graph::{Flags, NodeKind, NodeOps, payload_prefix};
use crate::runtime::{HandleMarker, NodeRef, ReadFail, try_with_runtime, with_runtime};
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
    signal_with_equals(value, T::eq)
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
    let data = Rc::new(SignalData {
        value: RefCell::new(value),
        pending: RefCell::new(None),
        equals,
    });
    let location = Location::caller();
    let node =
        with_runtime(|rt| rt.create(NodeKind::Signal, Flags::default(), Some(data), location));
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

/// A signal's storage: the current value, a write not yet committed, and the equality.
///
/// A write lands in `pending`; it is compared with the current value when the write is
/// committed (at the end of the outermost batch, or when read), so a batch that writes a value
/// and then writes the old one back changes nothing.
pub(crate) struct SignalData<T> {
    value: RefCell<T>,
    pending: RefCell<Option<T>>,
    equals: fn(&T, &T) -> bool,
}

impl<T: 'static> NodeOps for SignalData<T> {
    fn value(&self) -> &dyn Any {
        self
    }

    fn in_use(&self) -> bool {
        self.value.try_borrow_mut().is_err()
    }

    fn commit(&self) -> bool {
        let Some(new) = self.pending.borrow_mut().take() else {
            return false;
        };
        let mut current = self.value.try_borrow_mut().unwrap_or_else(|_| {
            panic!("a signal was written while its value was borrowed by `with`; finish reading before writing")
        });
        if (self.equals)(&current, &new) {
            return false;
        }
        let old = std::mem::replace(&mut *current, new);
        drop(current);
        drop(old);
        true
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
            if let Some(value) = rt.scope_override(self.node) {
                let value = value
                    .downcast_ref::<T>()
                    .expect("scope override has the signal's type");
                return Ok(f(value));
            }
            let data = rt.read::<SignalData<T>>(self.node, NodeKind::Signal, track)?;
            // SAFETY: `Runtime::read` checked the handle's generation, so `data` points at the
            // `SignalData<T>` that `signal_with_equals` made for this node, alive now. The
            // value cell is borrowed below before any user code runs, and a payload whose
            // value is borrowed is not dropped even if the node is disposed meanwhile
            // (`Runtime::release_payload`), so the reference stays valid while it is used.
            let data = unsafe { data.as_ref() };
            let value = data.value.try_borrow().unwrap_or_else(|_| {
                panic!(
                    "a signal was read while `update` was changing it ({})",
                    self.node.origin()
                )
            });
            Ok(f(&value))
        })
    }

    /// Calls `f` with a reference to the value, tracked. No clone is made.
    ///
    /// # Panics
    /// If the signal was disposed (the message says where it was created), or if `f` writes
    /// this same signal.
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
    /// re-triggering each other ([`Error::EffectLoop`](crate::Error::EffectLoop)).
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
            let Some((flags, Some(ops))) = rt.lookup(self.node) else {
                return Err(value);
            };
            let data = downcast::<T>(&ops);
            if !flags.contains(Flags::DIRTY) && rt.is_idle() {
                // Outside any batch, run or flush the write commits at once: compare with the
                // current value and replace it, skipping the pending slot.
                if let Ok(mut current) = data.value.try_borrow_mut() {
                    if (data.equals)(&current, &value) {
                        return Ok(());
                    }
                    let old = std::mem::replace(&mut *current, value);
                    drop(current);
                    drop(old);
                    rt.signal_changed(self.node.index);
                    return Ok(());
                }
            }
            let unchanged = match &*data.pending.borrow() {
                Some(pending) => (data.equals)(pending, &value),
                None => match data.value.try_borrow() {
                    Ok(current) => (data.equals)(&current, &value),
                    Err(_) => false,
                },
            };
            if unchanged {
                return Ok(());
            }
            let old = data.pending.borrow_mut().replace(value);
            drop(old);
            rt.signal_written(self.node.index, false);
            Ok(())
        })
    }

    /// Changes the value in place. Always counts as a change (there is no old value to
    /// compare with); use [`set`](Self::set) to skip equal values.
    ///
    /// Updating a disposed signal does nothing.
    ///
    /// # Panics
    /// If `f` reads or writes this same signal, or as [`set`](Self::set).
    ///
    /// # Examples
    /// ```
    /// let list = stateloom_core::signal(vec![1]);
    /// list.update(|l| l.push(2));
    /// assert_eq!(list.get(), [1, 2]);
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        with_runtime(|rt| {
            let Some((flags, Some(ops))) = rt.lookup(self.node) else {
                return;
            };
            let data = downcast::<T>(&ops);
            let mut pending = data.pending.borrow_mut();
            if let Some(value) = pending.as_mut() {
                f(value);
                drop(pending);
                rt.signal_written(self.node.index, false);
                return;
            }
            let mut value = data.value.try_borrow_mut().unwrap_or_else(|_| {
                panic!(
                    "a signal was updated while its value was borrowed by `with` ({})",
                    self.node.origin()
                )
            });
            f(&mut value);
            drop(value);
            drop(pending);
            if !flags.contains(Flags::DIRTY) && rt.is_idle() {
                // Outside any batch, run or flush the change is committed at once, as `set`
                // does, without going through the pending writes.
                rt.signal_changed(self.node.index);
            } else {
                rt.signal_written(self.node.index, true);
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

/// The typed payload behind a `Signal<T>`'s node.
///
/// Only called with payloads returned by the runtime for a `Signal<T>` handle's own node.
fn downcast<T: 'static>(ops: &Rc<dyn NodeOps>) -> &SignalData<T> {
    // SAFETY: `ops` is the payload of the node a `Signal<T>` handle names (callers get it from
    // `Runtime::lookup` with that handle's `NodeRef`, which checks the slot's generation), and
    // `signal_with_equals` created that payload as an `Rc<SignalData<T>>`, which the borrowed
    // `Rc` keeps alive for the returned lifetime.
    unsafe { payload_prefix::<SignalData<T>>(ops).as_ref() }
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
