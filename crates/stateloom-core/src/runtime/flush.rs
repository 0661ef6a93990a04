//! Flushing: committing written signals and running scheduled effects in creation order.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::Runtime;
use super::check::Check;
use crate::error::{Error, Origin};
use crate::graph::{Flags, NodeKind};

/// Rounds after which a flush concludes, by default, that effects re-trigger each other
/// forever (see `set_flush_round_limit`).
pub(crate) const DEFAULT_FLUSH_ROUND_LIMIT: usize = 100;

/// Clears the `flushing` flag however the flush ends.
struct FlushGuard<'a>(&'a Runtime);

impl Drop for FlushGuard<'_> {
    fn drop(&mut self) {
        self.0.flushing.set(false);
    }
}

impl Runtime {
    /// Flushes through the batch hook, if one is installed. A hook that returns without
    /// calling the flush it was given gets it run afterwards, so no effect is ever lost.
    pub(crate) fn flush_with_hook(&self) {
        let hook = self.batch_hook.borrow().clone();
        match hook {
            Some(hook) => {
                let mut ran = false;
                hook(&mut || {
                    ran = true;
                    self.flush();
                });
                if !ran {
                    self.flush();
                }
            }
            None => self.flush(),
        }
    }

    /// Runs rounds until nothing is scheduled: commit written signals, then run the queued
    /// effects in creation order. Effects scheduled during a round run in the next one.
    ///
    /// A panicking effect does not stop the others: the first panic is re-raised at the end.
    fn flush(&self) {
        if self.flushing.replace(true) {
            return;
        }
        let guard = FlushGuard(self);
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!("stateloom.flush").entered();
        self.flush_rounds(guard, 0, None);
    }

    /// A flush whose first round is the one subscription effect `index` (live, flagged
    /// `QUEUED`, accepted by `Graph::watcher_ready`), which nothing else was scheduled with:
    /// `Runtime::signal_changed` calls it instead of queueing the effect. The runtime must be
    /// idle. Later rounds, if the effect's run scheduled anything, are the usual ones.
    pub(crate) fn flush_one(&self, index: u32, generation: u32) {
        debug_assert!(self.is_idle(), "a flush never nests");
        self.flushing.set(true);
        let guard = FlushGuard(self);
        #[cfg(feature = "tracing")]
        let _span = tracing::debug_span!("stateloom.flush").entered();
        let first_panic = catch_unwind(AssertUnwindSafe(|| self.run_watcher(index))).err();
        self.end_queued_run(index, generation);
        if first_panic.is_none() && !self.has_work() {
            return;
        }
        self.flush_rounds(guard, 1, first_panic);
    }

    /// After a queued effect's run: it leaves the queue, and goes back into it for the next
    /// round if it was marked again after its run started (it wrote what it had read).
    #[inline]
    fn end_queued_run(&self, index: u32, generation: u32) {
        let mut graph = self.graph.borrow_mut();
        if graph.nodes.get(index, generation).is_some() {
            let flags = &mut graph.nodes.at_mut(index).flags;
            flags.remove(Flags::QUEUED);
            if flags.intersects(Flags::DIRTY | Flags::PENDING) {
                graph.enqueue(index);
            }
        }
    }

    /// The rounds of a flush, after the `rounds` already run; `first_panic` is the panic of an
    /// earlier round, re-raised at the end.
    fn flush_rounds(
        &self,
        guard: FlushGuard<'_>,
        mut rounds: usize,
        mut first_panic: Option<Box<dyn std::any::Any + Send>>,
    ) {
        let _guard = guard;
        loop {
            self.commit_written();
            let mut batch = {
                let mut graph = self.graph.borrow_mut();
                if graph.queue.is_empty() {
                    break;
                }
                graph.sort_queue();
                std::mem::take(&mut graph.queue)
            };
            rounds += 1;
            let limit = self.flush_round_limit.get();
            if rounds > limit {
                let origin = self.abandon(batch);
                drop(_guard);
                let error = Error::EffectLoop {
                    rounds: limit,
                    origin,
                };
                match first_panic {
                    Some(payload) => resume_unwind(payload),
                    None => panic!("{error}"),
                }
            }
            for q in &batch {
                if self
                    .graph
                    .borrow()
                    .nodes
                    .get(q.index, q.generation)
                    .is_none()
                {
                    continue;
                }
                // The effect stays flagged `QUEUED` while it is checked and run, so the
                // changes its own check finds upstream do not queue it a second time.
                if let Err(payload) =
                    catch_unwind(AssertUnwindSafe(|| self.run_effect(q.index, q.generation)))
                {
                    first_panic.get_or_insert(payload);
                }
                self.end_queued_run(q.index, q.generation);
            }
            // Hand the emptied buffer back so steady-state flushes do not allocate.
            batch.clear();
            let mut graph = self.graph.borrow_mut();
            if graph.queue.is_empty() && graph.queue.capacity() < batch.capacity() {
                graph.queue = batch;
            }
        }
        drop(_guard);
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
    }

    /// Gives up on the effects of a flush that did not settle: they are unscheduled and left
    /// clean (still subscribed, so the next change to what they read runs them again), and the
    /// computeds they were waiting on become `STALE`. Returns the origin of one of them.
    fn abandon(&self, batch: Vec<crate::graph::Queued>) -> Origin {
        let mut graph = self.graph.borrow_mut();
        let rest = std::mem::take(&mut graph.queue);
        let mut origin = None;
        for q in batch.into_iter().chain(rest) {
            if graph.nodes.get(q.index, q.generation).is_some() {
                graph.abandon_effect(q.index);
                origin.get_or_insert(graph.nodes.at(q.index).origin());
            }
        }
        graph.queue_sorted = true;
        origin.unwrap_or(Origin::UNKNOWN)
    }

    /// Commits every signal written since the last commit, in write order.
    fn commit_written(&self) {
        loop {
            let written = {
                let mut graph = self.graph.borrow_mut();
                if graph.dirty_signals.is_empty() {
                    return;
                }
                std::mem::take(&mut graph.dirty_signals)
            };
            for &(index, generation) in &written {
                let dirty = self
                    .graph
                    .borrow()
                    .nodes
                    .get(index, generation)
                    .is_some_and(|node| node.flags.contains(Flags::DIRTY));
                if dirty {
                    self.commit_signal(index);
                }
            }
            // Hand the buffer back so steady-state batches do not allocate.
            let mut graph = self.graph.borrow_mut();
            if graph.dirty_signals.is_empty() {
                let mut written = written;
                written.clear();
                graph.dirty_signals = written;
            }
        }
    }

    /// Runs a dequeued effect (live when called) if a dependency really changed.
    fn run_effect(&self, index: u32, generation: u32) {
        let flags = {
            let graph = self.graph.borrow();
            let node = graph.nodes.at(index);
            debug_assert_eq!(node.kind(), NodeKind::Effect, "only effects are queued");
            node.flags
        };
        if flags.contains(Flags::RUNNING) {
            return;
        }
        if flags.contains(Flags::DIRTY) {
            self.run_effect_now(index, flags);
            return;
        }
        if !flags.contains(Flags::PENDING) {
            return;
        }
        match self.check_dirty(index, generation) {
            Check::Dirty => {
                let flags = self.graph.borrow().nodes.at(index).flags;
                self.run_effect_now(index, flags);
            }
            Check::Clean => {
                let mut graph = self.graph.borrow_mut();
                graph.nodes.at_mut(index).flags.remove(Flags::PENDING);
            }
            Check::Disposed => {}
        }
    }

    /// Runs an effect that must run: a subscription that can, without tracking.
    #[inline(always)]
    fn run_effect_now(&self, index: u32, flags: Flags) {
        if flags.contains(Flags::WATCH) && self.graph.borrow().watcher_ready(index) {
            self.run_watcher(index);
        } else {
            self.run_consumer(index);
        }
    }
}
