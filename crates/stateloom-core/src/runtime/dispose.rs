//! Ownership: cleanups, and disposing nodes together with everything they own.
//!
//! Disposal calls user code (cleanups, and destructors of values and closures), which may
//! panic, dispose other nodes or create new ones. A disposal always finishes: every cleanup
//! runs and every node is freed, and only then does the first panic continue.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use super::{NodeRef, Runtime};
use crate::arena::NIL;
use crate::graph::{Cleanup, Flags};

/// Node and link slots (and scratch entries) a runtime keeps, by default, however few nodes
/// are live, so a graph of up to this size can come and go without the arenas reallocating.
pub(crate) const DEFAULT_RETAINED_SLOTS: usize = 4096;

/// The first panic of a sequence of calls into user code that must all happen.
#[derive(Default)]
pub(crate) struct Panics(Option<Box<dyn Any + Send>>);

impl Panics {
    /// Runs `f`, keeping its panic if it is the first one.
    pub(crate) fn catch(&mut self, f: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
            self.keep(payload);
        }
    }

    /// Keeps `payload` if it is the first panic.
    fn keep(&mut self, payload: Box<dyn Any + Send>) {
        self.0.get_or_insert(payload);
    }

    /// Continues the first panic, if there was one.
    pub(crate) fn resume(self) {
        if let Some(payload) = self.0 {
            resume_unwind(payload);
        }
    }
}

impl Runtime {
    /// Registers a cleanup on the current owner. Returns `false` (and drops `f`) if there is
    /// no owner, or the owner was disposed.
    pub(crate) fn on_cleanup(&self, f: Cleanup) -> bool {
        let mut graph = self.graph.borrow_mut();
        let owner = self.live_owner(&graph);
        if owner == NIL {
            drop(graph);
            drop(f);
            return false;
        }
        graph.nodes.at_mut(owner).flags.insert(Flags::HAS_CLEANUPS);
        graph.cleanups.entry(owner).or_default().push(f);
        true
    }

    /// Runs the cleanups of `index`, newest first, untracked and without an owner. A
    /// panicking cleanup does not stop the others.
    fn run_cleanups(&self, index: u32, panics: &mut Panics) {
        let cleanups = {
            let mut graph = self.graph.borrow_mut();
            let node = graph.nodes.at_mut(index);
            if !node.flags.contains(Flags::HAS_CLEANUPS) {
                return;
            }
            node.flags.remove(Flags::HAS_CLEANUPS);
            graph.cleanups.remove(&index).unwrap_or_default()
        };
        self.untracked(true, || {
            for cleanup in cleanups.into_iter().rev() {
                panics.catch(cleanup);
            }
        });
    }

    /// Disposes a node and everything it owns. Idempotent; a running node is disposed when its
    /// run ends.
    ///
    /// # Panics
    /// With the first panic of a cleanup or destructor, once the disposal has finished.
    pub(crate) fn dispose(&self, node: NodeRef) {
        let running = {
            let mut graph = self.graph.borrow_mut();
            let Some(n) = graph.nodes.get_mut(node.index, node.generation) else {
                return;
            };
            if n.flags.contains(Flags::RUNNING) {
                n.flags.insert(Flags::DISPOSE_REQUESTED);
                true
            } else {
                false
            }
        };
        if !running {
            self.dispose_index(node.index, true);
            self.shrink_if_idle();
        }
    }

    /// Gives back the memory of a large disposed graph (see `Graph::shrink`) when nothing is
    /// in progress that could hold the index of a freed slot: no batch, run or flush, and no
    /// read or write of a freed signal (the graveyard is empty). When the arenas shrink, the
    /// payload blocks kept for reuse are cut to as many as the node arena has room for.
    ///
    /// The empty graveyard is what lets `end_read` and `end_write` index the node arena
    /// without a bounds check (see `Arena::get_mut_handed_out`): keep the condition.
    fn shrink_if_idle(&self) {
        if self.is_idle() && self.graveyard_is_empty() {
            let room = {
                let mut graph = self.graph.borrow_mut();
                graph
                    .shrink(self.retained_slots.get())
                    .then(|| graph.nodes.capacity() - graph.nodes.len())
            };
            if let Some(room) = room {
                self.blocks.trim(room);
            }
        }
    }

    /// Before a consumer re-runs: disposes what its previous run created, then runs its own
    /// cleanups, so inner cleanups run before outer ones.
    ///
    /// # Panics
    /// As [`dispose_index`](Self::dispose_index).
    pub(crate) fn dispose_owned(&self, index: u32) {
        let mut panics = Panics::default();
        self.dispose_tree(index, false, &mut panics);
        self.run_cleanups(index, &mut panics);
        self.bury_released(&mut panics);
        panics.resume();
    }

    /// Disposes the nodes owned by `index` (and `index` itself if `include_self`), children
    /// before owners and newer siblings before older ones.
    ///
    /// # Panics
    /// With the first panic of a cleanup or destructor, after every node was disposed.
    pub(crate) fn dispose_index(&self, index: u32, include_self: bool) {
        let mut panics = Panics::default();
        self.dispose_tree(index, include_self, &mut panics);
        self.bury_released(&mut panics);
        panics.resume();
    }

    /// The work of [`dispose_index`](Self::dispose_index), collecting panics in `panics`.
    ///
    /// Each node's cleanups run, then it is detached and freed, and its payload is dropped with
    /// the graph released. Nodes a cleanup adds to an owner that is being disposed (through
    /// `Root::run`) are disposed before that owner, so nothing is left behind.
    fn dispose_tree(&self, index: u32, include_self: bool, panics: &mut Panics) {
        let order = self.graph.borrow_mut().disposal_order(index, include_self);
        // One `catch_unwind` for the whole loop rather than one per node: a destructor that
        // panics while a payload is dropped ends the inner loop, which starts again after that
        // node. (Cleanups are caught one by one in `run_cleanups`.)
        let mut next = 0;
        while next < order.len() {
            let result = catch_unwind(AssertUnwindSafe(|| {
                while let Some(&(i, generation)) = order.get(next) {
                    next += 1;
                    self.dispose_node(i, generation, panics);
                }
            }));
            if let Err(payload) = result {
                panics.keep(payload);
            }
        }
    }

    /// Disposes one node of an ownership tree whose children were disposed before it: runs
    /// its cleanups, disposes what user code added to it meanwhile, frees it and drops its
    /// payload (whose destructors may panic).
    fn dispose_node(&self, i: u32, generation: u32, panics: &mut Panics) {
        loop {
            // User code that ran earlier in this disposal may have disposed this node
            // already, given it children or cleanups, or be running it.
            let (running, has_children, has_cleanups) = {
                let graph = self.graph.borrow();
                let Some(node) = graph.nodes.get(i, generation) else {
                    return;
                };
                (
                    node.flags.contains(Flags::RUNNING),
                    graph.has_idle_child(i),
                    node.flags.contains(Flags::HAS_CLEANUPS),
                )
            };
            if running {
                self.graph
                    .borrow_mut()
                    .nodes
                    .at_mut(i)
                    .flags
                    .insert(Flags::DISPOSE_REQUESTED);
                return;
            }
            if has_children {
                self.dispose_tree(i, false, panics);
            } else if has_cleanups {
                self.run_cleanups(i, panics);
            } else {
                break;
            }
        }
        let freed = self.graph.borrow_mut().free(i);
        self.release_payload(freed);
    }
}
