//! Running a write through the middleware, committing it, notifying listeners, and draining
//! the writes queued meanwhile.

use std::cell::Cell;
use std::mem;
use std::rc::Rc;

use stateloom_core::{batch, run_outside_scopes};

use super::Store;
use crate::middleware::{Api, Next};
use crate::write::{Update, Write};

/// Resets a flag when dropped, also on unwind.
struct Reset<'a>(&'a Cell<bool>);

impl Drop for Reset<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Marks a store busy for one commit; when dropped, also on unwind, makes it idle again and
/// drops the listeners removed meanwhile.
struct Committing<'a, S> {
    inner: &'a super::Inner<S>,
    /// The length of the queue when the commit began.
    queued: usize,
    /// The new state is going in: the write is no longer undone by a panic.
    applied: bool,
}

impl<'a, S> Committing<'a, S> {
    fn begin(inner: &'a super::Inner<S>) -> Self {
        inner.busy.set(true);
        Self {
            inner,
            queued: inner.queue.borrow().len(),
            applied: false,
        }
    }
}

impl<S> Committing<'_, S> {
    /// The rare part of the end of a commit, kept out of line.
    #[cold]
    #[inline(never)]
    fn end_slow(&mut self) {
        let inner = self.inner;
        if !self.applied && std::thread::panicking() {
            // The write failed before it changed anything (its update closure or the equality
            // panicked): the writes they queued react to a change that never happened.
            inner.queue.borrow_mut().truncate(self.queued);
        }
        if inner.compact.replace(false) {
            inner.listeners.borrow_mut().retain(|l| l.is_active());
        }
    }
}

impl<S> Drop for Committing<'_, S> {
    #[inline]
    fn drop(&mut self) {
        self.inner.busy.set(false);
        if !self.applied || self.inner.compact.get() {
            self.end_slow();
        }
    }
}

/// Leaves one pipeline level when dropped, also on unwind.
struct Leave<'a>(&'a Cell<u32>);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl<S: Clone + 'static> Store<S> {
    /// Runs `write` from pipeline position `index` (0 is the outermost middleware; a position
    /// past the last middleware commits). While a commit is running, the write is queued.
    pub(crate) fn run_from(&self, index: usize, write: Write<S>) {
        // A write goes to the store's own state, so everything on its way (middleware reads,
        // the base of an update, the states listeners get) sees that state, never the
        // override of a request scope the caller may be in.
        run_outside_scopes(|| self.run_from_unscoped(index, write));
    }

    fn run_from_unscoped(&self, index: usize, write: Write<S>) {
        let inner = &*self.inner;
        if inner.destroyed.get() {
            return;
        }
        if inner.busy.get() {
            inner.queue.borrow_mut().push_back((index, write));
            return;
        }
        inner.depth.set(inner.depth.get() + 1);
        let leave = Leave(&inner.depth);
        self.step(index, write);
        drop(leave);
        if inner.depth.get() == 0 {
            self.settle();
        }
    }

    /// Hands `write` to the middleware at `index`, or commits it.
    fn step(&self, index: usize, write: Write<S>) {
        let middleware = self.inner.middleware.borrow().get(index).cloned();
        match middleware {
            Some(m) => m.on_set(
                &Api::new(self.clone(), index),
                Next::new(self.clone(), index + 1),
                write,
            ),
            None => self.commit(write),
        }
    }

    /// Applies `write` to the state and notifies the listeners with the new and old states,
    /// unless the new state equals the current one: then nothing happens.
    ///
    /// Every write reaches the state through here (middleware rewrites, `Api::commit`,
    /// undo and redo, hydration, queued writes), so this is the one place that compares.
    fn commit(&self, write: Write<S>) {
        let inner = &*self.inner;
        debug_assert!(
            !inner.busy.get(),
            "commits never nest; writes are queued while busy"
        );
        // Busy from here: a write made by an update closure, the equality function, an effect
        // or a listener is queued, and a panic in any of them leaves the store idle again.
        let mut commit = Committing::begin(inner);
        let (signal, equals) = (inner.signal, inner.equals);
        // One read of the state computes the new one and compares: a read costs about as much
        // as the comparison of a small state.
        let (state, equal) = match write.into_update() {
            Update::Replace(state) => {
                let equal = signal.with_untracked(|current| equals(current, &state));
                (state, equal)
            }
            Update::Mutate(f) => signal.with_untracked(|current| {
                // A copy keeps the old state for listeners, and a panic in `f` changes nothing.
                let mut state = current.clone();
                f(&mut state);
                let equal = equals(current, &state);
                (state, equal)
            }),
        };
        inner.reached.set(inner.reached.get() + 1);
        if equal {
            drop(state);
            drop(commit);
            return;
        }
        commit.applied = true;
        let hooks = inner.commit_hooks.borrow().len();
        let old = if hooks == 0 {
            self.swap_in(state)
        } else {
            // Signals the hooks write (history's flags) change in one core batch with the
            // state: an effect reading both runs once, after both, and still inside the commit.
            batch(|| {
                let old = self.swap_in(state);
                for i in 0..hooks {
                    let hook = Rc::clone(&inner.commit_hooks.borrow()[i]);
                    hook(&old);
                }
                old
            })
        };
        self.notify(&old);
        drop(commit);
    }

    /// Puts `state` in the signal and returns the old state. Swapping rather than setting
    /// hands the old state back without a clone. Core effects that read the store run inside
    /// this call, unless a batch is open.
    fn swap_in(&self, mut state: S) -> S {
        let inner = &*self.inner;
        inner
            .signal
            .update(|current| mem::swap(current, &mut state));
        inner.version.set(inner.version.get() + 1);
        state
    }

    /// Calls every listener subscribed before this commit started.
    fn notify(&self, old: &S) {
        let inner = &*self.inner;
        let count = inner.listeners.borrow().len();
        if count == 0 {
            return;
        }
        inner.signal.with_untracked(|new| {
            for i in 0..count {
                // Invariant: the list only grows while busy (removals are deferred), so the
                // first `count` entries are the ones present when the commit began.
                let listener = Rc::clone(&inner.listeners.borrow()[i]);
                listener.call(new, old);
            }
        });
    }

    /// After the outermost pipeline run: applies queued writes in order, then a deferred
    /// destroy.
    fn settle(&self) {
        let inner = &*self.inner;
        if inner.draining.get() {
            return;
        }
        if inner.queue.borrow().is_empty() && !inner.destroy_pending.get() {
            return;
        }
        inner.draining.set(true);
        let draining = Reset(&inner.draining);
        loop {
            let next = inner.queue.borrow_mut().pop_front();
            let Some((index, write)) = next else { break };
            self.run_from(index, write);
        }
        drop(draining);
        if inner.destroy_pending.replace(false) {
            self.finish_destroy();
        }
    }

    /// The work of `destroy`: middleware `on_destroy`, then dropping everything.
    pub(crate) fn finish_destroy(&self) {
        let inner = &*self.inner;
        let middleware = mem::take(&mut *inner.middleware.borrow_mut());
        for (index, m) in middleware.iter().enumerate() {
            m.on_destroy(&Api::new(self.clone(), index));
        }
        drop(middleware);
        let listeners = mem::take(&mut *inner.listeners.borrow_mut());
        for listener in &listeners {
            listener.deactivate();
        }
        drop(listeners);
        inner.commit_hooks.borrow_mut().clear();
        inner.queue.borrow_mut().clear();
        inner.disposed.set(true);
        if let Some(root) = inner.root.borrow_mut().take() {
            root.dispose();
        }
    }
}
