//! The `history` middleware: undo and redo over a store's past states.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use stateloom_core::{Computed, Root, Signal, batch, computed, create_detached_root, signal};

use crate::middleware::{Api, Middleware, Next};
use crate::write::Write;

/// Undo and redo for a store, keeping at most `limit` past states.
///
/// `History` is a cheap `Clone` handle: give one clone to
/// [`StoreBuilder::middleware`](crate::StoreBuilder::middleware) and keep another to call
/// [`undo`](Self::undo) and [`redo`](Self::redo). One `History` serves one store.
///
/// Every committed write that passes through it becomes one undo step (the state before
/// it is kept), and clears the redo steps; a write the store skips because it left the
/// state equal is not a step. [`group`](Self::group) makes several writes one step. Undo and
/// redo are ordinary writes named `"undo"` and `"redo"` that go through the whole pipeline
/// (listeners fire, `persist` saves them) but are not recorded as steps. Hydration by
/// `persist` is not a step.
///
/// Place `History` inside middleware that delays or drops writes, so it records only what
/// is committed. Its [`can_undo`](Self::can_undo) and [`can_redo`](Self::can_redo) signals
/// change together, and together with the state: a write or an undo changes all three in one
/// core batch, so an effect reading them never sees a combination that did not exist. They
/// are disposed when the store is destroyed.
///
/// # Examples
/// ```
/// use stateloom_store::{History, Store};
///
/// let history = History::new(100);
/// let store = Store::builder(String::new()).middleware(history.clone()).build();
/// let can_undo = history.can_undo();
/// store.update(|s| s.push('a'));
/// history.group(|| {
///     store.update(|s| s.push('b'));
///     store.update(|s| s.push('c'));
/// });
/// assert_eq!(store.get_state(), "abc");
/// assert!(history.undo());
/// assert_eq!(store.get_state(), "a");
/// assert!(history.redo());
/// assert_eq!(store.get_state(), "abc");
/// history.clear();
/// assert!(!can_undo.get());
/// ```
pub struct History<S> {
    inner: Rc<HistoryInner<S>>,
}

struct HistoryInner<S> {
    id: usize,
    limit: usize,
    /// Oldest first.
    past: RefCell<VecDeque<S>>,
    /// Next redo last.
    future: RefCell<Vec<S>>,
    can_undo: Signal<bool>,
    can_redo: Signal<bool>,
    undo_view: Computed<bool>,
    redo_view: Computed<bool>,
    root: RefCell<Option<Root>>,
    api: RefCell<Option<Api<S>>>,
    group_depth: Cell<u32>,
    /// The open group already recorded its step.
    group_recorded: Cell<bool>,
    /// What the next commit does with its old state: set by `on_set` while its write runs
    /// further in, and taken by the first commit that follows (see `committed`).
    armed: Cell<Option<Arm>>,
    /// Counts changes to the stacks, so a `travel` whose write panicked can tell whether
    /// putting its step back is still right.
    generation: Cell<u64>,
}

/// What `on_set` expects of the commit its write leads to.
#[derive(Clone, Copy)]
struct Arm {
    /// Record the old state as an undo step.
    record: bool,
    /// The step belongs to an open group.
    grouped: bool,
}

/// Ids start at 1: a write's `from_history` of 0 means "from no history".
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

impl<S: Clone + 'static> History<S> {
    /// A history that keeps at most `limit` undo steps, dropping the oldest beyond that.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{History, Store};
    ///
    /// let history = History::new(2);
    /// let store = Store::builder(0).middleware(history.clone()).build();
    /// for n in 1..=5 { store.set_state(n); }
    /// assert_eq!(history.undo_len(), 2);
    /// while history.undo() {}
    /// assert_eq!(store.get_state(), 3);
    /// ```
    #[track_caller]
    pub fn new(limit: usize) -> Self {
        let ((can_undo, can_redo, undo_view, redo_view), root) = create_detached_root(|| {
            let can_undo = signal(false);
            let can_redo = signal(false);
            let undo_view = computed(move || can_undo.get());
            let redo_view = computed(move || can_redo.get());
            (can_undo, can_redo, undo_view, redo_view)
        });
        Self {
            inner: Rc::new(HistoryInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                limit,
                past: RefCell::new(VecDeque::new()),
                future: RefCell::new(Vec::new()),
                can_undo,
                can_redo,
                undo_view,
                redo_view,
                root: RefCell::new(Some(root)),
                api: RefCell::new(None),
                group_depth: Cell::new(0),
                group_recorded: Cell::new(false),
                armed: Cell::new(None),
                generation: Cell::new(0),
            }),
        }
    }

    /// Restores the state before the last step. Returns `false` if there is nothing to undo
    /// or the history is not attached to a live store.
    ///
    /// # Examples
    /// See [`History`].
    pub fn undo(&self) -> bool {
        self.travel(true)
    }

    /// Re-applies the last undone step. Returns `false` if there is nothing to redo.
    ///
    /// # Examples
    /// See [`History`].
    pub fn redo(&self) -> bool {
        self.travel(false)
    }

    /// Whether there is a step to undo, as a core computed: read it in an effect to enable an
    /// "Undo" button.
    ///
    /// # Panics
    /// If the store this history belonged to was destroyed.
    ///
    /// # Examples
    /// See [`History`].
    pub fn can_undo(&self) -> Computed<bool> {
        self.inner.undo_view
    }

    /// Whether there is a step to redo, as a core computed.
    ///
    /// # Examples
    /// ```
    /// use stateloom_store::{History, Store};
    ///
    /// let history = History::new(10);
    /// let store = Store::builder(0).middleware(history.clone()).build();
    /// store.set_state(1);
    /// history.undo();
    /// assert!(history.can_redo().get());
    /// store.set_state(2); // a new step clears the redo steps
    /// assert!(!history.can_redo().get());
    /// ```
    pub fn can_redo(&self) -> Computed<bool> {
        self.inner.redo_view
    }

    /// How many steps can be undone.
    ///
    /// # Examples
    /// See [`new`](Self::new).
    pub fn undo_len(&self) -> usize {
        self.inner.past.borrow().len()
    }

    /// How many steps can be redone.
    ///
    /// # Examples
    /// ```
    /// let history = stateloom_store::History::<i32>::new(10);
    /// assert_eq!(history.redo_len(), 0);
    /// ```
    pub fn redo_len(&self) -> usize {
        self.inner.future.borrow().len()
    }

    /// Forgets every undo and redo step; the state stays as it is.
    ///
    /// # Examples
    /// See [`History`].
    pub fn clear(&self) {
        self.inner.past.borrow_mut().clear();
        self.inner.future.borrow_mut().clear();
        self.inner.bump();
        self.inner.refresh();
    }

    /// Runs `f`, recording all the writes it makes as one undo step. Groups nest; the
    /// outermost one makes the step. A group without committed writes makes none.
    ///
    /// # Examples
    /// See [`History`].
    pub fn group<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Close<'a, S>(&'a HistoryInner<S>);
        impl<S> Drop for Close<'_, S> {
            fn drop(&mut self) {
                let depth = self.0.group_depth.get() - 1;
                self.0.group_depth.set(depth);
                if depth == 0 {
                    self.0.group_recorded.set(false);
                }
            }
        }
        self.inner.group_depth.set(self.inner.group_depth.get() + 1);
        let _close = Close(&*self.inner);
        f()
    }

    fn travel(&self, back: bool) -> bool {
        let inner = &*self.inner;
        let Some(api) = inner.api.borrow().clone() else {
            return false;
        };
        let target = if back {
            inner.past.borrow_mut().pop_back()
        } else {
            inner.future.borrow_mut().pop()
        };
        let Some(target) = target else {
            return false;
        };
        let current = api.get_state();
        if back {
            inner.future.borrow_mut().push(current);
        } else {
            inner.past.borrow_mut().push_back(current);
        }
        inner.bump();
        // The flags change in the commit, together with the state (`committed`). If the write
        // panics before committing (in a middleware, in the store's equality), the step is put
        // back, so the stacks still describe the state.
        let restore = Restore {
            inner,
            back,
            target: Some(target.clone()),
            generation: inner.generation.get(),
            version: api.store().version(),
            api: &api,
        };
        let mut write = Write::replace(target).with_action(if back { "undo" } else { "redo" });
        write.from_history = inner.id;
        let queued = api.store().is_busy();
        api.set_state(write);
        restore.disarm();
        // A write that did not commit (skipped as equal, dropped) changed no flag. A queued
        // one changes them when it reaches this history (`on_set`) or commits.
        if !queued {
            inner.refresh();
        }
        true
    }
}

impl<S: Clone + 'static> Middleware<S> for History<S> {
    fn on_init(&self, api: &Api<S>) {
        *self.inner.api.borrow_mut() = Some(api.clone());
        let weak = Rc::downgrade(&self.inner);
        api.store().add_commit_hook(Rc::new(move |old: &S| {
            if let Some(inner) = weak.upgrade() {
                inner.committed(old);
            }
        }));
    }

    fn on_set(&self, _api: &Api<S>, next: Next<S>, write: Write<S>) {
        let inner = &*self.inner;
        // Every write that passes arms the commits further in, an undo or redo included
        // (unarmed), so none of them takes the arm of an outer write that is still running.
        let arm = if write.from_history == inner.id {
            None
        } else {
            let grouped = inner.group_depth.get() > 0;
            Some(Arm {
                record: inner.limit > 0 && !(grouped && inner.group_recorded.get()),
                grouped,
            })
        };
        let undo_or_redo = arm.is_none();
        let disarm = Disarm {
            armed: &inner.armed,
            previous: inner.armed.replace(arm),
        };
        next.run(write);
        drop(disarm);
        if undo_or_redo {
            // Committed, the write already brought the flags up to date with the state; not
            // committed (skipped as equal, dropped further in), it leaves them to do here.
            inner.refresh();
        }
    }

    fn on_destroy(&self, _api: &Api<S>) {
        self.inner.api.borrow_mut().take();
        if let Some(root) = self.inner.root.borrow_mut().take() {
            root.dispose();
        }
    }
}

impl<S: Clone> HistoryInner<S> {
    /// Called inside every commit of the store, in the core batch that swaps the state in:
    /// records the step the commit's write was armed with, and updates the flags, so effects
    /// see the new state and the new flags at once.
    fn committed(&self, old: &S) {
        if let Some(arm) = self.armed.take()
            && arm.record
        {
            let mut past = self.past.borrow_mut();
            past.push_back(old.clone());
            if past.len() > self.limit {
                past.pop_front();
            }
            drop(past);
            self.future.borrow_mut().clear();
            self.group_recorded.set(arm.grouped);
            self.bump();
        }
        self.refresh();
    }
}

impl<S> HistoryInner<S> {
    /// Brings `can_undo` and `can_redo` up to date, in one core batch: an effect reading both
    /// never sees one updated and the other not.
    fn refresh(&self) {
        if self.root.borrow().is_some() {
            let (undo, redo) = (
                !self.past.borrow().is_empty(),
                !self.future.borrow().is_empty(),
            );
            batch(|| {
                self.can_undo.set(undo);
                self.can_redo.set(redo);
            });
        }
    }

    /// Records that the stacks changed.
    fn bump(&self) {
        self.generation.set(self.generation.get() + 1);
    }
}

/// Restores the previous arm when dropped, also on unwind.
struct Disarm<'a> {
    armed: &'a Cell<Option<Arm>>,
    previous: Option<Arm>,
}

impl Drop for Disarm<'_> {
    fn drop(&mut self) {
        self.armed.set(self.previous);
    }
}

/// Puts back the step a `travel` took, if its write unwinds before committing and nothing
/// else changed the stacks meanwhile.
struct Restore<'a, S: Clone + 'static> {
    inner: &'a HistoryInner<S>,
    back: bool,
    /// `None` once the write returned.
    target: Option<S>,
    generation: u64,
    version: u64,
    api: &'a Api<S>,
}

impl<S: Clone + 'static> Restore<'_, S> {
    fn disarm(mut self) {
        self.target = None;
    }
}

impl<S: Clone + 'static> Drop for Restore<'_, S> {
    fn drop(&mut self) {
        let Some(target) = self.target.take() else {
            return;
        };
        let inner = self.inner;
        if inner.generation.get() != self.generation || self.api.store().version() != self.version {
            return;
        }
        // The flags were not touched: no commit ran `committed`.
        if self.back {
            inner.future.borrow_mut().pop();
            inner.past.borrow_mut().push_back(target);
        } else {
            inner.past.borrow_mut().pop_back();
            inner.future.borrow_mut().push(target);
        }
        inner.bump();
    }
}

impl<S> Drop for HistoryInner<S> {
    /// A history dropped without its store being destroyed still frees its signals.
    fn drop(&mut self) {
        if let Some(root) = self.root.get_mut().take() {
            root.dispose();
        }
    }
}

impl<S> Clone for History<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for History<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("limit", &self.inner.limit)
            .field("undo", &self.inner.past.borrow().len())
            .field("redo", &self.inner.future.borrow().len())
            .finish()
    }
}
