//! The dependency graph: nodes, the links between them, and the algorithms that never call
//! user code (linking, marking, ownership bookkeeping).
//!
//! Everything here runs while the runtime's graph is borrowed, so none of it may call a user
//! closure, an equality function or a destructor of a user value. The steps that do call user
//! code (recomputing, committing, running effects, disposing) live in `runtime` and re-borrow
//! the graph between calls.

mod cell;
mod link;
mod node;
mod propagate;

pub(crate) use cell::GraphCell;
pub(crate) use link::Links;
pub(crate) use node::{Flags, Node, NodeKind, NodeOps, OWNER_TAG, Payload, payload_prefix};

use std::collections::BTreeMap;

use crate::arena::{Arena, NIL, Slot};

/// A type-erased cleanup registered with [`on_cleanup`](crate::on_cleanup).
pub(crate) type Cleanup = Box<dyn FnOnce()>;

/// An effect waiting in the flush queue, with its creation sequence number for ordering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Queued {
    pub(crate) seq: u32,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// What is left of a freed node: its payload, and the borrows that still point into it.
pub(crate) struct Freed {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    /// Borrows of a signal that have not ended: its reads, plus one for a write in progress.
    /// The payload must stay allocated until they end.
    pub(crate) pins: u32,
    /// The signal's pending slot holds a write, to be dropped with the payload.
    pub(crate) has_pending: bool,
    pub(crate) payload: Payload,
}

impl Drop for Freed {
    /// Drops the write in the pending slot, if there is one; the payload drops after.
    fn drop(&mut self) {
        if self.has_pending {
            // SAFETY: `has_pending` says the slot holds a value, and a `Freed` is only dropped
            // once its node is gone and nothing pins it, so nothing else uses the payload.
            #[allow(unsafe_code)]
            unsafe {
                self.payload.discard_pending();
            }
        }
    }
}

/// All nodes and links of one thread's runtime, plus the scratch state of its algorithms.
///
/// # Invariants
/// - A link's `dep` and `sub` are live nodes; a link sits in exactly one `subs` list and one
///   `deps` list.
/// - A computed or effect flagged `PENDING` or `DIRTY` has all its subscribers flagged
///   `PENDING` or `DIRTY` too, so propagation may stop at a node it already marked.
/// - An effect flagged `PENDING` or `DIRTY` is in `queue` or is running.
pub(crate) struct Graph {
    pub(crate) nodes: Arena<Node>,
    pub(crate) links: Links,
    /// Effects to run at the next flush, in the order they were reached.
    pub(crate) queue: Vec<Queued>,
    /// Whether `queue` is in creation order (checked while pushing, so sorting is rare).
    pub(crate) queue_sorted: bool,
    /// The second buffer of the radix sort that puts `queue` in creation order.
    queue_spare: Vec<Queued>,
    /// Signals written since the last commit, in write order.
    pub(crate) dirty_signals: Vec<(u32, u32)>,
    /// Explicit stack shared by the iterative walks; each walk pops only down to where it started.
    pub(crate) scratch: Vec<u32>,
    /// Cleanups registered on owners flagged `HAS_CLEANUPS`, keyed by node index.
    pub(crate) cleanups: BTreeMap<u32, Vec<Cleanup>>,
    /// Creation counter for effects: the flush runs effects in this order.
    pub(crate) next_seq: u32,
    /// Counter for per-run stamps on links (detects a dependency read twice in one run).
    pub(crate) next_stamp: u32,
    /// Moves whenever the dependency list of a node flagged `CHECKING` may have changed (a
    /// link unlinked, or the node freed; such a node never runs), so a check that called user
    /// code knows whether the link ids it holds still mean what they meant (see
    /// `Runtime::check_dirty`).
    pub(crate) check_epoch: u32,
}

impl Graph {
    pub(crate) const fn new() -> Self {
        Self {
            nodes: Arena::new(),
            links: Links::new(),
            queue: Vec::new(),
            queue_sorted: true,
            queue_spare: Vec::new(),
            dirty_signals: Vec::new(),
            scratch: Vec::new(),
            cleanups: BTreeMap::new(),
            next_seq: 0,
            next_stamp: 0,
            check_epoch: 0,
        }
    }

    /// Adds a node owned by `owner` (or by nobody when `owner` is `NIL`).
    pub(crate) fn insert(&mut self, mut node: Node, owner: u32) -> (u32, u32) {
        if node.flags.is_kind(NodeKind::Effect) {
            node.mark = self.next_seq;
            self.next_seq = self.next_seq.wrapping_add(1);
        }
        let (index, generation) = self.nodes.insert(node);
        if owner != NIL {
            self.adopt(owner, index);
        }
        (index, generation)
    }

    /// The stamp of a new run: the next one, or `1` again once the counter runs out, when
    /// [`restart_stamps`](Self::restart_stamps) first clears every stamp recorded so far.
    #[inline]
    pub(crate) fn new_stamp(&mut self) -> u32 {
        self.next_stamp = match self.next_stamp.checked_add(1) {
            Some(stamp) => stamp,
            None => self.restart_stamps(),
        };
        self.next_stamp
    }

    /// Clears the stamps that sources' marks and links hold, so none equals a stamp handed
    /// out again after the counter wrapped: a stale one would make a run's first read of a
    /// source look like a repeated read, and lose the dependency. Returns the first stamp.
    ///
    /// Runs still in progress keep their stamps; with their sources' marks cleared, their
    /// later reads take the slower paths of `link`, which stay correct, and with their links'
    /// stamps cleared, `is_tracked` counts every link of theirs as read, so a change during
    /// such a run errs towards running it again.
    #[cold]
    fn restart_stamps(&mut self) -> u32 {
        for node in self.nodes.slots_mut() {
            if !node.flags.is_kind(NodeKind::Effect) {
                node.mark = 0;
            }
        }
        self.links.clear_stamps();
        1
    }

    /// Puts `child` at the head of `owner`'s children, so children are listed newest first.
    /// The head's `prev_sibling` names the owner, tagged, so no node needs an owner field.
    fn adopt(&mut self, owner: u32, child: u32) {
        let head = self.nodes.at(owner).first_child;
        if head != NIL {
            self.nodes.at_mut(head).prev_sibling = child;
        }
        let node = self.nodes.at_mut(child);
        node.next_sibling = head;
        node.prev_sibling = owner | OWNER_TAG;
        self.nodes.at_mut(owner).first_child = child;
    }

    /// Removes `index` from its owner's list of children.
    pub(crate) fn orphan(&mut self, index: u32) {
        let node = self.nodes.at(index);
        let (prev, next) = (node.prev_sibling, node.next_sibling);
        if prev == NIL {
            return;
        }
        if prev & OWNER_TAG == 0 {
            self.nodes.at_mut(prev).next_sibling = next;
        } else {
            self.nodes.at_mut(prev & !OWNER_TAG).first_child = next;
        }
        if next != NIL {
            // The new head inherits the tagged owner.
            self.nodes.at_mut(next).prev_sibling = prev;
        }
        let node = self.nodes.at_mut(index);
        node.prev_sibling = NIL;
        node.next_sibling = NIL;
    }

    /// The nodes owned, directly or not, by `index`, with their generations, children before
    /// their owners and newer siblings before older ones: the order in which they are
    /// disposed. `index` itself is last when `include_self` is set.
    pub(crate) fn disposal_order(&mut self, index: u32, include_self: bool) -> Vec<(u32, u32)> {
        let mut preorder = Vec::new();
        let base = self.scratch.len();
        if include_self {
            self.scratch.push(index);
        } else {
            self.push_children(index);
        }
        while self.scratch.len() > base {
            let n = self.scratch.pop().expect("scratch underflow");
            preorder.push((n, self.nodes.at(n).generation()));
            self.push_children(n);
        }
        preorder.reverse();
        preorder
    }

    /// Pushes the children of `index` in list order (newest first), so the oldest is popped
    /// first; reversing the resulting pre-order then yields newest-first, children-first.
    fn push_children(&mut self, index: u32) {
        let mut child = self.nodes.at(index).first_child;
        while child != NIL {
            self.scratch.push(child);
            child = self.nodes.at(child).next_sibling;
        }
    }

    /// Whether `index` owns a node that is not running. (A running child is disposed when its
    /// run ends, after its owner is gone.)
    pub(crate) fn has_idle_child(&self, index: u32) -> bool {
        let mut child = self.nodes.at(index).first_child;
        while child != NIL {
            let node = self.nodes.at(child);
            if !node.flags.contains(Flags::RUNNING) {
                return true;
            }
            child = node.next_sibling;
        }
        false
    }

    /// Detaches `index` from every dependency and every subscriber and frees it, returning
    /// its payload so the caller can drop it with the graph released.
    pub(crate) fn free(&mut self, index: u32) -> Freed {
        let flags = self.nodes.at(index).flags;
        debug_assert!(
            !flags.intersects(Flags::RUNNING | Flags::HAS_CLEANUPS),
            "stateloom internal error: freeing node {index}, running or with cleanups left"
        );
        if flags.contains(Flags::CHECKING) {
            self.invalidate_checks();
        }
        self.orphan(index);
        let mut link = self.nodes.at(index).deps;
        while link != NIL {
            link = self.unlink(link);
        }
        let mut link = self.nodes.at(index).subs;
        while link != NIL {
            let next = self.links.at(link).next_sub;
            self.unlink(link);
            link = next;
        }
        // Children that were not disposed (only possible while the owner runs) lose their owner.
        let mut child = self.nodes.at(index).first_child;
        while child != NIL {
            let next = self.nodes.at(child).next_sibling;
            let c = self.nodes.at_mut(child);
            c.prev_sibling = NIL;
            c.next_sibling = NIL;
            child = next;
        }
        let node = self.nodes.remove(index);
        // `remove` moved the slot's generation on; the node's own is the one it was handed.
        let generation = node.generation();
        Freed {
            index,
            generation,
            pins: u32::from(node.borrows) + u32::from(node.flags.contains(Flags::WRITING)),
            has_pending: node.flags.contains(Flags::HAS_PENDING),
            payload: node.payload,
        }
    }

    /// Gives back memory a large disposed graph left (see [`Arena::shrink`]): the vacant
    /// node and link slots at the end of their arenas once less than a quarter are live, and
    /// the capacity of the scratch buffers beyond `keep` entries. Returns whether any slot was
    /// removed; if so, checks in progress start again (the ids they hold are re-validated).
    pub(crate) fn shrink(&mut self, keep: usize) -> bool {
        let nodes = self.nodes.shrink(keep);
        let links = self.links.shrink(keep);
        for buffer in [&mut self.queue, &mut self.queue_spare] {
            if buffer.capacity() > keep {
                buffer.shrink_to(keep);
            }
        }
        if self.dirty_signals.capacity() > keep {
            self.dirty_signals.shrink_to(keep);
        }
        if self.scratch.capacity() > keep {
            self.scratch.shrink_to(keep);
        }
        if nodes || links {
            self.invalidate_checks();
        }
        nodes || links
    }

    /// Tells every dependency check in progress that the link ids it holds may be stale.
    #[cold]
    pub(crate) fn invalidate_checks(&mut self) {
        self.check_epoch = self.check_epoch.wrapping_add(1);
    }

    /// Puts the flush queue in creation order, if it is not already.
    #[inline]
    pub(crate) fn sort_queue(&mut self) {
        if !self.queue_sorted {
            sort_by_seq(&mut self.queue, &mut self.queue_spare);
            self.queue_sorted = true;
        }
    }

    /// Pushes an effect on the flush queue unless it is already there.
    /// Whether the live effect `index` is a subscription that can run without tracking
    /// (`Runtime::run_watcher`): flagged `WATCH`, linked to its one source by an earlier run
    /// (exactly one link), not running or being checked, and owning nothing a run would have
    /// to dispose first.
    #[inline]
    pub(crate) fn watcher_ready(&self, index: u32) -> bool {
        let node = self.nodes.at(index);
        node.flags.contains(Flags::WATCH)
            && !node
                .flags
                .intersects(Flags::RUNNING | Flags::CHECKING | Flags::HAS_CLEANUPS)
            && node.first_child == NIL
            && node.deps != NIL
            && node.deps_tail == node.deps
    }

    pub(crate) fn enqueue(&mut self, index: u32) {
        let generation = self.nodes.generation(index).expect("queued effect is live");
        let node = self.nodes.at_mut(index);
        if node.flags.contains(Flags::QUEUED) {
            return;
        }
        node.flags.insert(Flags::QUEUED);
        let seq = node.mark;
        if self.queue.last().is_some_and(|last| last.seq > seq) {
            self.queue_sorted = false;
        }
        self.queue.push(Queued {
            seq,
            index,
            generation,
        });
    }
}

/// Sorts `queue` by creation sequence, stably, using `spare` as the second buffer.
///
/// A flush can queue thousands of effects in the depth-first order propagation reached them
/// (`cellx_1000` queues 4,000), so this is a least-significant-digit radix sort over the
/// sequence number's bytes, linear in the queue's length: one pass counts all four bytes, then
/// each byte position that differs between entries costs one pass that moves them (the high
/// bytes, equal until millions of effects were created, cost nothing). Short queues use the
/// standard sort.
#[inline(never)]
fn sort_by_seq(queue: &mut Vec<Queued>, spare: &mut Vec<Queued>) {
    const SHORT: usize = 64;
    if queue.len() <= SHORT {
        queue.sort_unstable_by_key(|q| q.seq);
        return;
    }
    spare.clear();
    spare.resize(queue.len(), Queued::default());
    // One pass counts every byte position; each position then costs one pass that moves the
    // entries, or nothing when all entries share that byte.
    let mut counts = [[0_u32; 256]; 4];
    for q in queue.iter() {
        for (byte, count) in q.seq.to_le_bytes().into_iter().zip(&mut counts) {
            count[usize::from(byte)] += 1;
        }
    }
    let len = queue.len() as u32;
    for (position, count) in counts.iter_mut().enumerate() {
        if count.contains(&len) {
            continue;
        }
        let mut next = 0;
        for slot in count.iter_mut() {
            let start = next;
            next += *slot;
            *slot = start;
        }
        let shift = 8 * position as u32;
        for q in queue.iter() {
            let slot = &mut count[((q.seq >> shift) & 0xff) as usize];
            spare[*slot as usize] = *q;
            *slot += 1;
        }
        std::mem::swap(queue, spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(seqs: impl IntoIterator<Item = u32>) -> Vec<Queued> {
        seqs.into_iter()
            .enumerate()
            .map(|(i, seq)| Queued {
                seq,
                index: i as u32,
                generation: 1,
            })
            .collect()
    }

    #[test]
    fn the_queue_sort_orders_by_sequence_like_a_stable_sort() {
        let mut spare = Vec::new();
        // Lengths on both sides of the short-queue cut-off, and sequence numbers that differ
        // in one, two or all four bytes.
        for (len, spread) in [(10, 100_u32), (65, 1_000), (500, 70_000), (3_000, u32::MAX)] {
            let mut state = 0x2545_f491_u32 ^ len as u32;
            let seqs: Vec<u32> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state % spread
                })
                .collect();
            let mut queue = queued(seqs.clone());
            let mut expected = queue.clone();
            expected.sort_by_key(|q| q.seq);
            sort_by_seq(&mut queue, &mut spare);
            if len > 64 {
                assert_eq!(queue, expected, "length {len}: stable order");
            } else {
                let keys: Vec<u32> = queue.iter().map(|q| q.seq).collect();
                let want: Vec<u32> = expected.iter().map(|q| q.seq).collect();
                assert_eq!(keys, want, "length {len}");
            }
        }
    }
}
