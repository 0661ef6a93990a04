//! The push phase: marking consumers downstream of a change, without recursion.

use super::{Flags, Graph, NodeKind};
use crate::arena::NIL;

impl Graph {
    /// Marks everything downstream of `first_link` (a subscriber list) `PENDING` and queues the
    /// effects it reaches.
    ///
    /// Walks depth-first with the shared scratch stack, pushing only where a node has another
    /// sibling to visit, so a chain needs no stack at all. A node already marked is not entered
    /// again: by the graph invariant its subscribers are marked too, so one write visits each
    /// node at most once.
    pub(crate) fn propagate(&mut self, first_link: u32) {
        let base = self.scratch.len();
        let mut link = first_link;
        while link != NIL {
            let l = *self.links.at(link);
            let sub = l.sub;
            let node = self.nodes.at(sub);
            let (flags, sub_subs) = (node.flags, node.subs);
            let mut descend = false;
            if flags.contains(Flags::RUNNING) && !self.is_tracked(link, sub) {
                // A running consumer that has not read this dependency yet will see the new
                // value when it does: nothing to mark.
            } else if !flags.intersects(Flags::PENDING | Flags::DIRTY) {
                self.nodes.at_mut(sub).flags.insert(Flags::PENDING);
                // Comparisons rather than a `match`: a jump table here costs an indirect branch
                // per visited node, which predicts poorly when kinds alternate down the graph.
                if flags.is_kind(NodeKind::Computed) {
                    descend = sub_subs != NIL;
                } else if flags.is_kind(NodeKind::Effect) {
                    self.enqueue(sub);
                }
            } else if flags.is_kind(NodeKind::Effect) {
                self.enqueue(sub);
            }
            if descend {
                if l.next_sub != NIL {
                    self.scratch.push(l.next_sub);
                }
                link = sub_subs;
            } else if l.next_sub != NIL {
                link = l.next_sub;
            } else if self.scratch.len() > base {
                link = self.scratch.pop().expect("scratch underflow");
            } else {
                link = NIL;
            }
        }
    }

    /// Records that the value of `index` changed: its direct subscribers become `DIRTY` (they
    /// must re-run without checking), and anything that was not marked yet is marked now.
    #[inline]
    pub(crate) fn mark_changed(&mut self, index: u32) {
        let mut link = self.nodes.at(index).subs;
        while link != NIL {
            let (sub, next_sub) = {
                let l = self.links.at(link);
                (l.sub, l.next_sub)
            };
            let node = self.nodes.at(sub);
            let (flags, sub_subs) = (node.flags, node.subs);
            if flags.contains(Flags::RUNNING) && !self.is_tracked(link, sub) {
                // It is reading `index` right now, after the change.
            } else if !flags.contains(Flags::DIRTY) {
                self.nodes.at_mut(sub).flags.insert(Flags::DIRTY);
                if flags.is_kind(NodeKind::Computed) {
                    if !flags.contains(Flags::PENDING) && sub_subs != NIL {
                        self.propagate(sub_subs);
                    }
                } else if flags.is_kind(NodeKind::Effect) {
                    self.enqueue(sub);
                }
            }
            link = next_sub;
        }
    }

    /// After a computed's run panicked: turns the computeds downstream that were waiting on it
    /// (`PENDING`/`DIRTY`) into `STALE`, so they recompute when next read but no longer stop
    /// propagation for subscribers that will never be serviced by this interrupted read.
    pub(crate) fn mark_stale_downstream(&mut self, index: u32) {
        let base = self.scratch.len();
        self.scratch.push(index);
        while self.scratch.len() > base {
            let n = self.scratch.pop().expect("scratch underflow");
            let mut link = self.nodes.at(n).subs;
            while link != NIL {
                let l = *self.links.at(link);
                let node = self.nodes.at_mut(l.sub);
                if node.flags.is_kind(NodeKind::Computed)
                    && !node.flags.contains(Flags::RUNNING)
                    && node.flags.intersects(Flags::PENDING | Flags::DIRTY)
                {
                    node.flags.remove(Flags::PENDING | Flags::DIRTY);
                    node.flags.insert(Flags::STALE);
                    self.scratch.push(l.sub);
                }
                link = l.next_sub;
            }
        }
    }

    /// Unschedules an effect and leaves it clean. The computeds upstream that were only
    /// waiting to be checked for it (`PENDING`/`DIRTY`) become `STALE`, so a later write is
    /// not stopped at them and still reaches the effect.
    pub(crate) fn abandon_effect(&mut self, index: u32) {
        let node = self.nodes.at_mut(index);
        node.flags
            .remove(Flags::QUEUED | Flags::PENDING | Flags::DIRTY);
        let base = self.scratch.len();
        self.scratch.push(index);
        while self.scratch.len() > base {
            let n = self.scratch.pop().expect("scratch underflow");
            let mut link = self.nodes.at(n).deps;
            while link != NIL {
                let l = *self.links.at(link);
                let dep = self.nodes.at_mut(l.dep);
                if dep.flags.is_kind(NodeKind::Computed)
                    && !dep.flags.contains(Flags::RUNNING)
                    && dep.flags.intersects(Flags::PENDING | Flags::DIRTY)
                {
                    dep.flags.remove(Flags::PENDING | Flags::DIRTY);
                    dep.flags.insert(Flags::STALE);
                    self.scratch.push(l.dep);
                }
                link = l.next_dep;
            }
        }
    }
}
