//! The pull phase: deciding whether a `PENDING` consumer really has to re-run.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Runtime;
use crate::arena::NIL;
use crate::graph::{Flags, Graph, NodeKind};

/// Restarts after which a check stops retrying and reports its consumer dirty, which is always
/// safe (the consumer re-runs and reads what it needs). Only user code that keeps disposing or
/// re-running the nodes being checked makes a check restart at all.
const MAX_RESTARTS: u32 = 64;

/// Ends a check however it ends, also when user code panics: clears `CHECKING` on the nodes
/// still on its path and truncates the scratch stack back to where the check started.
struct CheckGuard<'a> {
    rt: &'a Runtime,
    base: usize,
    consumer: u32,
    generation: u32,
}

impl Drop for CheckGuard<'_> {
    fn drop(&mut self) {
        let mut graph = self.rt.graph.borrow_mut();
        leave_path(&mut graph, self.base, self.consumer, self.generation);
    }
}

/// Clears `CHECKING` on a check's path (its consumer, and the node each scratch entry pair
/// above `base` descended into) and truncates the scratch stack to `base`.
///
/// The path's nodes are found by index and may have been freed by user code since they were
/// entered; a vacant slot is skipped, and a slot that was freed and reused holds a node that no
/// check has entered (every check in progress entered its nodes before the user code that
/// freed them ran), whose flag is clear already.
fn leave_path(graph: &mut Graph, base: usize, consumer: u32, generation: u32) {
    let mut at = base + 1;
    while at < graph.scratch.len() {
        let child = graph.scratch[at];
        if let Some(node) = graph.nodes.occupied_mut(child) {
            node.flags.remove(Flags::CHECKING);
        }
        at += 2;
    }
    graph.scratch.truncate(base);
    if let Some(node) = graph.nodes.get_mut(consumer, generation) {
        node.flags.remove(Flags::CHECKING);
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

/// How a call into user code left the walk.
enum Resume {
    /// Nothing the walk holds changed: go on.
    Continue,
    /// The link ids the walk holds may be stale: start again from the consumer.
    Restart,
}

impl Runtime {
    /// Returns whether `consumer` (flagged `PENDING`) must re-run because a dependency's value
    /// changed, updating out-of-date dependencies on the way. Returns `false` if the consumer
    /// was disposed meanwhile: callers look it up again before they use it.
    ///
    /// A depth-first walk over dependencies with an explicit stack of links, so a chain of any
    /// length is checked without recursion. Dependencies are brought up to date bottom-up; a
    /// dependency whose recomputed value is equal to the old one does not make its subscriber
    /// re-run, which is where equality cut-off happens. The walk stops at the first dependency
    /// that changed.
    ///
    /// Bringing a dependency up to date runs user code, which may dispose or re-run any node,
    /// the ones on the walk's path included. The walk flags its path `CHECKING`, and every
    /// change to such a node's dependency list moves `Graph::check_epoch`; after each call into
    /// user code the walk compares the epoch and, if it moved, starts again from the consumer
    /// instead of following link ids that may have been freed or reused. Starting again is
    /// cheap and exact: the dependencies already brought up to date are clean now.
    pub(crate) fn check_dirty(&self, consumer: u32, generation: u32) -> bool {
        let base = self.graph.borrow().scratch.len();
        let _guard = CheckGuard {
            rt: self,
            base,
            consumer,
            generation,
        };
        // If user code panics while a dependency is brought up to date, the check gives up and
        // reports the consumer dirty: the consumer then re-runs and meets the panic in its own
        // read, where its code can handle it, and the nodes in between (now `STALE`) recompute
        // once on the way.
        catch_unwind(AssertUnwindSafe(|| {
            self.walk_dependencies(consumer, generation, base)
        }))
        .unwrap_or(true)
    }

    /// The walk of [`check_dirty`](Self::check_dirty); `base` is where its part of the scratch
    /// stack starts.
    ///
    /// The scratch stack holds one pair per level below the consumer: the link walked down
    /// and the dependency it leads to. A dependency flagged `RUNNING` or `CHECKING` is not
    /// walked into: it is computing, or on the path of this or an enclosing check, so reaching
    /// it means the graph has a cycle, which the reads themselves report.
    fn walk_dependencies(&self, consumer: u32, generation: u32, base: usize) -> bool {
        let mut restarts = 0;
        'walk: loop {
            let (mut sub, mut link, epoch) = {
                let mut graph = self.graph.borrow_mut();
                let Some(node) = graph.nodes.get_mut(consumer, generation) else {
                    return false;
                };
                let flags = node.flags;
                if flags.contains(Flags::DIRTY) {
                    return true;
                }
                if flags.contains(Flags::CHECKING) {
                    // A nested read of a node an enclosing check is walking (a cycle through
                    // an untracked read): it cannot be checked now, so it recomputes.
                    return true;
                }
                if !flags.contains(Flags::PENDING) {
                    // Brought up to date by user code before a restart.
                    return false;
                }
                node.flags.insert(Flags::CHECKING);
                (consumer, node.deps, graph.check_epoch)
            };
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
                            graph.scratch.push(link);
                            graph.scratch.push(dep);
                            let node = graph.nodes.at_mut(dep);
                            node.flags.insert(Flags::CHECKING);
                            sub = dep;
                            link = node.deps;
                            continue;
                        }
                        Step::Commit | Step::Recompute => {
                            self.update_dep(link, matches!(step, Step::Commit));
                            if let Resume::Restart = self.resume(epoch, base, consumer, generation)
                            {
                                restarts += 1;
                                if restarts > MAX_RESTARTS {
                                    return self.is_live_index(consumer, generation);
                                }
                                continue 'walk;
                            }
                        }
                        Step::Clean => {}
                    }
                    let graph = self.graph.borrow();
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
                    let (parent, parent_link) = {
                        let mut graph = self.graph.borrow_mut();
                        if graph.scratch.len() == base {
                            return dirty;
                        }
                        let child = graph.scratch.pop().expect("scratch underflow");
                        let parent_link = graph.scratch.pop().expect("scratch underflow");
                        debug_assert_eq!(child, sub, "the scratch pair names the current node");
                        let parent = if graph.scratch.len() == base {
                            consumer
                        } else {
                            *graph.scratch.last().expect("scratch pair")
                        };
                        let node = graph.nodes.at_mut(sub);
                        node.flags.remove(Flags::CHECKING);
                        if !dirty {
                            node.flags.remove(Flags::PENDING);
                        }
                        (parent, parent_link)
                    };
                    if dirty {
                        self.recompute(sub);
                        if let Resume::Restart = self.resume(epoch, base, consumer, generation) {
                            restarts += 1;
                            if restarts > MAX_RESTARTS {
                                return self.is_live_index(consumer, generation);
                            }
                            continue 'walk;
                        }
                    }
                    let graph = self.graph.borrow();
                    sub = parent;
                    dirty = graph.nodes.at(sub).flags.contains(Flags::DIRTY);
                    if dirty {
                        continue;
                    }
                    link = graph.links.at(parent_link).next_dep;
                    if link != NIL {
                        break;
                    }
                }
            }
        }
    }

    /// After a call into user code: whether the walk may go on with the ids it holds. If the
    /// epoch moved, leaves the path (the walk starts again from the consumer).
    #[inline]
    fn resume(&self, epoch: u32, base: usize, consumer: u32, generation: u32) -> Resume {
        let mut graph = self.graph.borrow_mut();
        if graph.check_epoch == epoch {
            return Resume::Continue;
        }
        leave_path(&mut graph, base, consumer, generation);
        Resume::Restart
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
