//! Deferred lifecycle work: mount hooks and their cleanups run after the write, read or
//! subscription that caused them, never inside a derived atom's read function; so does
//! freeing a removed family member once it is unmounted.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Weak;

use stateloom_core::{batch, untrack};

use crate::registry::AtomKey;
use crate::scope::inner::{ScopeInner, release_if_unused};

/// One piece of deferred work.
pub(crate) enum Task {
    /// Bring an atom's mount hook in line with its mount state: run `on_mount` if it became
    /// mounted, or its cleanup if it became unmounted.
    Reconcile(Weak<ScopeInner>, AtomKey),
    /// Run a cleanup whose atom is gone (removed from its family).
    Run(Box<dyn FnOnce()>),
    /// Free a scope's node of an atom removed from its family if it is still unmounted there,
    /// and the atom's config once no scope holds a node for it.
    Evict(Weak<ScopeInner>, AtomKey),
}

struct Lifecycle {
    queue: RefCell<VecDeque<Task>>,
    /// Depth of read and write functions running now; nothing is drained inside them.
    busy: Cell<u32>,
    draining: Cell<bool>,
}

thread_local! {
    static LIFECYCLE: Lifecycle = const {
        Lifecycle {
            queue: RefCell::new(VecDeque::new()),
            busy: Cell::new(0),
            draining: Cell::new(false),
        }
    };
    /// Destroyed before the kernel's runtime (it is first touched after it), so a drop that
    /// runs during thread exit can tell that the kernel may be gone.
    static SENTINEL: Sentinel = const { Sentinel };
    /// Whether the queue holds a task, so the check after every write reads one flag of a
    /// thread-local without a destructor (no state check).
    // Invariant: equal to `!queue.is_empty()` whenever the queue is not borrowed.
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

struct Sentinel;

impl Drop for Sentinel {
    fn drop(&mut self) {}
}

/// Arms the thread-exit check; call after the kernel's runtime was first used.
pub(crate) fn arm() {
    SENTINEL.with(|_| ());
}

/// Whether this thread is exiting (its thread-locals are being destroyed).
pub(crate) fn tearing_down() -> bool {
    SENTINEL.try_with(|_| ()).is_err()
}

/// Queues a task for the next drain.
pub(crate) fn push(task: Task) {
    LIFECYCLE.with(|l| l.queue.borrow_mut().push_back(task));
    QUEUED.with(|q| q.set(true));
}

/// Marks a read or write function as running until the guard drops.
pub(crate) fn busy() -> BusyGuard {
    LIFECYCLE.with(|l| l.busy.set(l.busy.get() + 1));
    BusyGuard
}

/// Ends a busy section, even by panic.
pub(crate) struct BusyGuard;

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let _ = LIFECYCLE.try_with(|l| l.busy.set(l.busy.get() - 1));
    }
}

struct DrainGuard;

impl Drop for DrainGuard {
    fn drop(&mut self) {
        let _ = LIFECYCLE.try_with(|l| l.draining.set(false));
    }
}

/// Runs the queued tasks, unless a read or write function is running or a drain is already
/// in progress (that one picks up what is queued meanwhile).
///
/// The tasks run untracked and together in one batch: the mount hooks and cleanups that one
/// operation (a subscription, a write, a disposal) set off may write several atoms, and a
/// subscriber must see their combined result once, not each step. Subscribers notified when
/// that batch ends may queue more tasks, which run in the next batch. A panicking task does
/// not stop the others; the first panic is re-raised at the end.
#[inline]
pub(crate) fn drain() {
    if QUEUED.with(Cell::get) {
        drain_if_ready();
    }
}

/// The rest of [`drain`]'s check, once a task is queued.
#[cold]
#[inline(never)]
fn drain_if_ready() {
    let ready = LIFECYCLE.with(|l| l.busy.get() == 0 && !l.draining.get());
    if ready {
        drain_queue();
    }
}

fn pop() -> Option<Task> {
    LIFECYCLE.with(|l| {
        let mut queue = l.queue.borrow_mut();
        let task = queue.pop_front();
        QUEUED.with(|q| q.set(!queue.is_empty()));
        task
    })
}

fn is_empty() -> bool {
    !QUEUED.with(Cell::get)
}

#[cold]
fn drain_queue() {
    LIFECYCLE.with(|l| l.draining.set(true));
    let _guard = DrainGuard;
    let mut first_panic = None;
    while !is_empty() {
        let round = catch_unwind(AssertUnwindSafe(|| {
            untrack(|| {
                batch(|| {
                    while let Some(task) = pop() {
                        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(task))) {
                            first_panic.get_or_insert(payload);
                        }
                    }
                })
            })
        }));
        // A subscriber that panicked when the batch ended.
        if let Err(payload) = round {
            first_panic.get_or_insert(payload);
        }
    }
    if let Some(payload) = first_panic {
        resume_unwind(payload);
    }
}

fn run(task: Task) {
    match task {
        Task::Reconcile(scope, key) => {
            if let Some(scope) = scope.upgrade() {
                scope.reconcile(key);
            }
        }
        Task::Run(cleanup) => cleanup(),
        Task::Evict(scope, key) => {
            if let Some(scope) = scope.upgrade() {
                scope.evict_if_unmounted(key);
            }
            release_if_unused(key);
        }
    }
}
