//! The pull phase: deciding whether a `PENDING` consumer really has to re-run.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Runtime;
use crate::arena::NIL;
use crate::graph::{Flags, NodeKind};

/// Truncates the scratch stack back to where a walk started, also when user code panics.
struct ScratchGuard<'a> {
    rt: &'a Runtime,
    base: usize,
}

impl Drop for ScratchGuard<'_> {
    fn drop(&mut self) {
        self.rt.graph.borrow_mut().scratch.truncate(self.base);
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
    /// The dependency is up to date.
    Clean,
}

impl Runtime {
    /// Returns whether `consumer` (flagged `PENDING`) must re-run because a dependency's value
    /// changed, updating out-of-date dependencies on the way.
    ///
    /// A depth-first walk over dependencies with an explicit stack of links, so a chain of any
    /// length is checked without recursion. Dependencies are brought up to date bottom-up; a
    /// dependency whose recomputed value is equal to the old one does not make its subscriber
    /// re-run, which is where equality cut-off happens. The walk stops at the first dependency
    /// that changed.
    pub(crate) fn check_dirty(&self, consumer: u32) -> bool {
        let base = self.graph.borrow().scratch.len();
        let _guard = ScratchGuard { rt: self, base };
        // If user code panics while a dependency is brought up to date, the check gives up and
        // reports the consumer dirty: the consumer then re-runs and meets the panic in its own
        // read, where its code can handle it, and the nodes in between (now `STALE`) recompute
        // once on the way.
        catch_unwind(AssertUnwindSafe(|| self.walk_dependencies(consumer, base))).unwrap_or(true)
    }

    /// The walk of [`check_dirty`](Self::check_dirty); `base` is where its part of the scratch
    /// stack starts.
    fn walk_dependencies(&self, consumer: u32, base: usize) -> bool {
        let mut sub = consumer;
        let mut link = self.graph.borrow().nodes.at(consumer).deps;
        loop {
            // Examine the dependency behind `link`, unless `sub` has no dependencies left.
            let mut dirty = false;
            if link != NIL {
                let step = {
                    let graph = self.graph.borrow();
                    let dep = graph.links.at(link).dep;
                    let node = graph.nodes.at(dep);
                    let flags = node.flags;
                    if flags.is_kind(NodeKind::Signal) {
                        if flags.contains(Flags::DIRTY) {
                            Step::Commit
                        } else {
                            Step::Clean
                        }
                    } else if !flags.is_kind(NodeKind::Computed) {
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
                        sub = dep;
                        link = graph.nodes.at(dep).deps;
                        continue;
                    }
                    Step::Commit | Step::Recompute => {
                        self.update_dep(link, matches!(step, Step::Commit));
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
                let parent_link = {
                    let mut graph = self.graph.borrow_mut();
                    if graph.scratch.len() == base {
                        return dirty;
                    }
                    let parent_link = graph.scratch.pop().expect("scratch underflow");
                    if !dirty {
                        graph.nodes.at_mut(sub).flags.remove(Flags::PENDING);
                    }
                    parent_link
                };
                if dirty {
                    self.recompute(sub);
                }
                let graph = self.graph.borrow();
                sub = graph.links.at(parent_link).sub;
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
