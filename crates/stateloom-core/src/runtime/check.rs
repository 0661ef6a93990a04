//! The pull phase: deciding whether a `PENDING` consumer really has to re-run.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Runtime;
use crate::arena::NIL;
use crate::graph::{Flags, Graph, NodeKind};

/// Restarts after which a check stops retrying and reports its consumer dirty, which is always
/// safe (the consumer re-runs and reads what it needs). Only user code that keeps disposing or
/// re-running the nodes being checked makes a check restart at all.
const MAX_RESTARTS: u32 = 64;

/// What a dependency check found out about its consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// A dependency changed: the consumer must re-run.
    Dirty,
    /// No dependency changed.
    Clean,
    /// User code disposed the consumer during the check.
    Disposed,
}

/// One check in progress: its consumer and where its part of the scratch stack starts.
struct Walk<'a> {
    consumer: u32,
    generation: u32,
    base: usize,
    /// The deepest node on the path when user code was last called (the others are on the
    /// scratch stack), so the path can be left if that code panics.
    current: &'a Cell<u32>,
}

impl Walk<'_> {
    /// Clears `CHECKING` on the path (the consumer, the nodes on the scratch stack and
    /// `current`, the deepest) and truncates the scratch stack to where the check started.
    ///
    /// The path's nodes are found by index and may have been freed by user code since they
    /// were entered; a vacant slot is skipped. A slot that was freed and reused holds a node
    /// this check did not enter; if an enclosing check entered it, that check is suspended in
    /// user code during which the epoch moved, so it starts again too and does not rely on the
    /// flag.
    fn leave_path(&self, graph: &mut Graph, current: u32) {
        for at in self.base..graph.scratch.len() {
            let index = graph.scratch[at];
            if let Some(node) = graph.nodes.occupied_mut(index) {
                node.flags.remove(Flags::CHECKING);
            }
        }
        graph.scratch.truncate(self.base);
        // `NIL` (no node) is out of bounds: a miss.
        if let Some(node) = graph.nodes.occupied_mut(current) {
            node.flags.remove(Flags::CHECKING);
        }
        if let Some(node) = graph.nodes.get_mut(self.consumer, self.generation) {
            node.flags.remove(Flags::CHECKING);
        }
    }
}

/// What to do with one dependency during the walk.
enum Step {
    /// Commit a signal's pending write.
    Commit,
    /// Recompute a computed that is known to be out of date.
    Recompute,
    /// Walk into a computed that may be out of date.
    Descend(u32),
    /// The dependency is up to date, or cannot be checked now (see `walk_dependencies`).
    Clean,
}

impl Runtime {
    /// Finds out whether `consumer` (live, flagged `PENDING` and not `DIRTY`) must re-run
    /// because a dependency's value changed, updating out-of-date dependencies on the way, or
    /// whether user code disposed it meanwhile.
    ///
    /// A depth-first walk over dependencies with an explicit stack, so a chain of any length
    /// is checked without recursion. Dependencies are brought up to date bottom-up; a
    /// dependency whose recomputed value is equal to the old one does not make its subscriber
    /// re-run, which is where equality cut-off happens. The walk stops at the first dependency
    /// that changed.
    ///
    /// Bringing a dependency up to date runs user code, which may dispose any node, the ones on
    /// the walk's path included. The walk flags its path `CHECKING`: reads report such a node
    /// as a cycle (so user code never re-runs it), and unlinking or freeing it moves
    /// `Graph::check_epoch`. After each call into user code the walk compares the epoch and,
    /// if it moved, starts again from the consumer instead of following link ids that may have
    /// been freed or reused. Starting again is cheap and exact: the dependencies already
    /// brought up to date are clean now.
    pub(crate) fn check_dirty(&self, consumer: u32, generation: u32) -> Check {
        let (link, epoch, base) = {
            let mut graph = self.graph.borrow_mut();
            let (epoch, base) = (graph.check_epoch, graph.scratch.len());
            let node = graph.nodes.at_mut(consumer);
            debug_assert!(
                !node.flags.contains(Flags::CHECKING),
                "stateloom internal error: a check started at a node another check walks"
            );
            node.flags.insert(Flags::CHECKING);
            (node.deps, epoch, base)
        };
        let current = Cell::new(NIL);
        let walk = Walk {
            consumer,
            generation,
            base,
            current: &current,
        };
        let (mut link, mut epoch, mut restarts) = (link, epoch, 0);
        loop {
            match catch_unwind(AssertUnwindSafe(|| {
                self.walk_dependencies(&walk, link, epoch)
            })) {
                // A walk that returns has left its path.
                Ok(Some(true)) => return Check::Dirty,
                Ok(Some(false)) => return Check::Clean,
                Ok(None) => match self.restart(consumer, generation, &mut restarts) {
                    Ok((first, now)) => (link, epoch) = (first, now),
                    Err(check) => return check,
                },
                // If user code panics while a dependency is brought up to date, the check
                // gives up and reports the consumer dirty: the consumer then re-runs and meets
                // the panic in its own read, where its code can handle it, and the nodes in
                // between (now `STALE`) recompute once on the way.
                Err(_) => {
                    walk.leave_path(&mut self.graph.borrow_mut(), current.get());
                    return if self.is_live_index(consumer, generation) {
                        Check::Dirty
                    } else {
                        Check::Disposed
                    };
                }
            }
        }
    }

    /// The walk of [`check_dirty`](Self::check_dirty).
    ///
    /// The scratch stack, from `walk.base`, holds the path from the consumer down to the
    /// parent of `sub`, the node whose dependencies are being examined. Each node on the path
    /// keeps the link the walk is examining in its `deps_tail`, which means something else only
    /// while the node runs (and running a node on the path moves the epoch). A dependency
    /// flagged `RUNNING` or `CHECKING` is not walked into: it is computing, or on the path of
    /// this or an enclosing check, so reaching it means the graph has a cycle, which the reads
    /// themselves report.
    ///
    /// `link` and `epoch` are the consumer's first dependency and the epoch when the check
    /// flagged it. Returns whether the consumer is dirty, which it can only say for a live
    /// consumer (it was live after the last call into user code, since freeing a node on the
    /// path moves the epoch), or `None` if the epoch moved: the walk has left its path and
    /// must start again from the consumer.
    fn walk_dependencies(&self, walk: &Walk<'_>, mut link: u32, epoch: u32) -> Option<bool> {
        let base = walk.base;
        let mut sub = walk.consumer;
        {
            loop {
                // Examine the dependency behind `link`, unless `sub` has no dependencies left.
                let mut dirty = false;
                if link != NIL {
                    let step = {
                        let graph = self.graph.borrow();
                        let dep = graph.links.at(link).dep;
                        let flags = graph.nodes.at(dep).flags;
                        if flags.is_kind(NodeKind::Signal) {
                            if flags.contains(Flags::DIRTY) {
                                Step::Commit
                            } else {
                                Step::Clean
                            }
                        } else if !flags.is_kind(NodeKind::Computed)
                            || flags.intersects(Flags::RUNNING | Flags::CHECKING)
                        {
                            Step::Clean
                        } else if flags.intersects(Flags::DIRTY | Flags::STALE) {
                            Step::Recompute
                        } else if flags.contains(Flags::PENDING) {
                            Step::Descend(dep)
                        } else {
                            Step::Clean
                        }
                    };
                    match step {
                        Step::Descend(dep) => {
                            let mut graph = self.graph.borrow_mut();
                            graph.nodes.at_mut(sub).deps_tail = link;
                            graph.scratch.push(sub);
                            let node = graph.nodes.at_mut(dep);
                            node.flags.insert(Flags::CHECKING);
                            sub = dep;
                            link = node.deps;
                            continue;
                        }
                        Step::Commit | Step::Recompute => {
                            walk.current.set(sub);
                            self.update_dep(link, matches!(step, Step::Commit));
                            if self.moved(walk, epoch, sub) {
                                return None;
                            }
                        }
                        Step::Clean => {}
                    }
                    let graph = self.graph.borrow();
                    debug_assert_eq!(
                        graph.links.at(link).sub,
                        sub,
                        "stateloom internal error: a check kept a link its node no longer has"
                    );
                    dirty = graph.nodes.at(sub).flags.contains(Flags::DIRTY);
                    if !dirty {
                        link = graph.links.at(link).next_dep;
                        if link != NIL {
                            continue;
                        }
                    }
                }
                // `sub` is settled: dirty, or every dependency checked clean. Climb.
                loop {
                    let parent = {
                        let mut graph = self.graph.borrow_mut();
                        let at_consumer = graph.scratch.len() == base;
                        let node = graph.nodes.at_mut(sub);
                        node.flags.remove(Flags::CHECKING);
                        if at_consumer {
                            return Some(dirty);
                        }
                        if !dirty {
                            node.flags.remove(Flags::PENDING);
                        }
                        graph.scratch.pop().expect("scratch underflow")
                    };
                    if dirty {
                        // `sub` left the path; its parent is the deepest node on it now.
                        walk.current.set(parent);
                        self.recompute(sub);
                        if self.moved(walk, epoch, parent) {
                            return None;
                        }
                    }
                    let graph = self.graph.borrow();
                    sub = parent;
                    let node = graph.nodes.at(sub);
                    dirty = node.flags.contains(Flags::DIRTY);
                    if dirty {
                        continue;
                    }
                    debug_assert_eq!(
                        graph.links.at(node.deps_tail).sub,
                        sub,
                        "stateloom internal error: a check kept a link its node no longer has"
                    );
                    link = graph.links.at(node.deps_tail).next_dep;
                    if link != NIL {
                        break;
                    }
                }
            }
        }
    }

    /// After a call into user code: whether the epoch moved, so the ids the walk holds may be
    /// stale. If so, leaves the path, whose deepest node is `current` (the walk then starts
    /// again from the consumer).
    #[inline]
    fn moved(&self, walk: &Walk, epoch: u32, current: u32) -> bool {
        let mut graph = self.graph.borrow_mut();
        if graph.check_epoch == epoch {
            return false;
        }
        walk.leave_path(&mut graph, current);
        walk.current.set(NIL);
        true
    }

    /// Starts a walk again from its consumer, after user code changed a node on its path:
    /// returns the consumer's first dependency and the epoch now, or what the check found if
    /// there is nothing left to walk.
    #[cold]
    fn restart(
        &self,
        consumer: u32,
        generation: u32,
        restarts: &mut u32,
    ) -> Result<(u32, u32), Check> {
        *restarts += 1;
        let mut graph = self.graph.borrow_mut();
        let epoch = graph.check_epoch;
        let Some(node) = graph.nodes.get_mut(consumer, generation) else {
            return Err(Check::Disposed);
        };
        if node.flags.contains(Flags::DIRTY) || *restarts > MAX_RESTARTS {
            return Err(Check::Dirty);
        }
        if !node.flags.contains(Flags::PENDING) {
            // Brought up to date by the user code that ran.
            return Err(Check::Clean);
        }
        node.flags.insert(Flags::CHECKING);
        Ok((node.deps, epoch))
    }

    /// Whether the node at `index` is still the one of `generation`.
    fn is_live_index(&self, index: u32, generation: u32) -> bool {
        self.graph.borrow().nodes.get(index, generation).is_some()
    }

    /// Commits or recomputes the dependency behind `link`.
    fn update_dep(&self, link: u32, commit: bool) {
        let dep = self.graph.borrow().links.at(link).dep;
        if commit {
            self.commit_signal(dep);
        } else {
            self.recompute(dep);
        }
    }
}
