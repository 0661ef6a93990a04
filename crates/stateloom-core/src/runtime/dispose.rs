//! Ownership: cleanups, and disposing nodes together with everything they own.

use super::{NodeRef, Runtime};
use crate::arena::NIL;
use crate::graph::{Cleanup, Flags};

impl Runtime {
    /// Registers a cleanup on the current owner. Returns `false` (and drops `f`) if there is
    /// no owner.
    pub(crate) fn on_cleanup(&self, f: Cleanup) -> bool {
        let owner = self.owner.get();
        if owner == NIL {
            return false;
        }
        let mut graph = self.graph.borrow_mut();
        graph.nodes.at_mut(owner).flags.insert(Flags::HAS_CLEANUPS);
        graph.cleanups.entry(owner).or_default().push(f);
        true
    }

    /// Runs the cleanups of `index`, newest first, untracked and without an owner.
    fn run_cleanups(&self, index: u32) {
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
                cleanup();
            }
        });
    }

    /// Disposes a node and everything it owns. Idempotent; a running node is disposed when its
    /// run ends.
    pub(crate) fn dispose(&self, node: NodeRef) {
        let running = {
            let mut graph = self.graph.borrow_mut();
            let Some(n) = graph.nodes.get(node.index, node.generation) else {
                return;
            };
            if n.flags.contains(Flags::RUNNING) {
                graph
                    .nodes
                    .at_mut(node.index)
                    .flags
                    .insert(Flags::DISPOSE_REQUESTED);
                true
            } else {
                false
            }
        };
        if !running {
            self.dispose_index(node.index, true);
        }
    }

    /// Before a consumer re-runs: disposes what its previous run created, then runs its own
    /// cleanups, so inner cleanups run before outer ones.
    pub(crate) fn dispose_owned(&self, index: u32) {
        let has_owned = {
            let graph = self.graph.borrow();
            let node = graph.nodes.at(index);
            node.first_child != NIL || node.flags.contains(Flags::HAS_CLEANUPS)
        };
        if has_owned {
            self.dispose_index(index, false);
            self.run_cleanups(index);
        }
    }

    /// Disposes the nodes owned by `index` (and `index` itself if `include_self`), children
    /// before owners and newer siblings before older ones. Each node's cleanups run, then it
    /// is detached and freed; its payload is dropped with the graph released.
    pub(crate) fn dispose_index(&self, index: u32, include_self: bool) {
        let order: Vec<(u32, u32)> = {
            let mut graph = self.graph.borrow_mut();
            let order = graph.disposal_order(index, include_self);
            order
                .into_iter()
                .map(|i| (i, graph.nodes.generation(i).expect("owned node is live")))
                .collect()
        };
        for (i, generation) in order {
            // A cleanup that ran earlier in this loop may have disposed this node already.
            let running = {
                let graph = self.graph.borrow();
                match graph.nodes.get(i, generation) {
                    None => continue,
                    Some(node) => node.flags.contains(Flags::RUNNING),
                }
            };
            if running {
                self.graph
                    .borrow_mut()
                    .nodes
                    .at_mut(i)
                    .flags
                    .insert(Flags::DISPOSE_REQUESTED);
                continue;
            }
            self.run_cleanups(i);
            let payload = {
                let mut graph = self.graph.borrow_mut();
                if graph.nodes.get(i, generation).is_none() {
                    continue;
                }
                graph.free(i)
            };
            self.release_payload(payload);
        }
        self.bury_released();
    }
}
