//! Borrows of signal values, and the graveyard that keeps a freed node's payload allocated
//! while something still points into it.
//!
//! A signal's payload holds its value and pending write in plain cells; the rules that make
//! references into them sound live in the signal's node:
//! - `borrows` counts the reads (`with` closures) that hold a shared reference to the value;
//! - `WRITING` marks the one write (`set`, `update`, a commit) in progress, which is refused
//!   to any other write of the same signal until it ends;
//! - `UPDATING` marks an `update` closure holding the value mutably, which reads refuse.
//!
//! Each borrow ends through a guard that finds the node again by index and generation. If
//! the node was freed meanwhile, its payload went to the graveyard with one pin per borrow
//! still open, and the guard removes its pin there; the last one drops the payload.
#![allow(unsafe_code)] // Dereferences payload pointers kept alive by the rules above.

use std::ptr::NonNull;

use super::dispose::Panics;
use super::{NodeRef, Runtime};
use crate::error::Origin;
use crate::graph::{Flags, Freed, NodeOps};

/// Ends a read of a signal's value when dropped (see [`Runtime::read`]).
pub(crate) struct ReadBorrow<'a> {
    pub(crate) rt: &'a Runtime,
    pub(crate) node: NodeRef,
}

impl Drop for ReadBorrow<'_> {
    #[inline]
    fn drop(&mut self) {
        self.rt.end_read(self.node);
    }
}

/// A write of a signal in progress: the node is flagged `WRITING` from
/// [`Runtime::begin_write`] until [`end`](Self::end) or drop, and its payload stays
/// allocated until then even if the node is disposed.
pub(crate) struct Write<'a> {
    rt: &'a Runtime,
    index: u32,
    generation: u32,
    ops: NonNull<dyn NodeOps>,
    /// The node's flags when the write began (without `WRITING`).
    pub(crate) flags: Flags,
    /// How many reads borrowed the value when the write began.
    pub(crate) borrows: u16,
    ended: bool,
}

impl<'a> Write<'a> {
    /// Wraps a write the caller already flagged `WRITING` on a live node.
    pub(crate) fn begun(
        rt: &'a Runtime,
        index: u32,
        generation: u32,
        ops: NonNull<dyn NodeOps>,
    ) -> Self {
        Self {
            rt,
            index,
            generation,
            ops,
            flags: Flags::default(),
            borrows: 0,
            ended: false,
        }
    }

    /// The signal's payload.
    #[inline]
    pub(crate) fn ops(&self) -> &dyn NodeOps {
        // SAFETY: the payload of a node flagged `WRITING` is not freed: `Graph::free` counts
        // the flag as a pin, and `release_payload` keeps a pinned payload in the graveyard
        // until this write ends.
        unsafe { self.ops.as_ref() }
    }

    /// A pointer to the payload's typed prefix `P`, valid until the write ends (see
    /// [`ops`](Self::ops) and `payload_prefix` for when it is a `P`).
    #[inline]
    pub(crate) fn prefix<P: 'static>(&self) -> NonNull<P> {
        crate::graph::payload_prefix(self.ops)
    }

    /// Flags the value as mutably borrowed, so reads are refused until the write ends.
    pub(crate) fn set_updating(&self) {
        let mut graph = self.rt.graph.borrow_mut();
        if let Some(node) = graph.nodes.get_mut(self.index, self.generation) {
            node.flags.insert(Flags::UPDATING);
        }
    }

    /// Ends the write, adding `add` to the node's flags; returns whether the node is still
    /// alive (a user function it called may have disposed it).
    #[inline]
    pub(crate) fn end(mut self, add: Flags) -> bool {
        self.ended = true;
        self.rt.end_write(self.index, self.generation, add)
    }
}

impl Drop for Write<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.ended {
            self.rt
                .end_write(self.index, self.generation, Flags::default());
        }
    }
}

/// Panics for a write that would change a signal's value while it is borrowed.
#[cold]
pub(crate) fn write_conflict(origin: Origin) -> ! {
    panic!(
        "a signal was written while its value was borrowed by `with`, or from inside its own \
         equality function or `update`; finish reading before writing ({origin})"
    )
}

impl Runtime {
    /// Starts a write of the signal `node`: flags it `WRITING` and returns the guard, or
    /// `None` if the signal was disposed.
    ///
    /// # Panics
    /// If a write of the same signal is already in progress (a write from inside its own
    /// equality function or `update`).
    pub(crate) fn begin_write(&self, node: NodeRef) -> Option<Write<'_>> {
        let mut graph = self.graph.borrow_mut();
        let n = graph.nodes.get_mut(node.index, node.generation)?;
        let (flags, borrows) = (n.flags, n.borrows);
        if flags.contains(Flags::WRITING) {
            drop(graph);
            write_conflict(node.origin());
        }
        n.flags.insert(Flags::WRITING);
        let payload = &n.payload;
        let mut write = Write::begun(self, node.index, node.generation, payload.as_ptr());
        write.flags = flags;
        write.borrows = borrows;
        Some(write)
    }

    /// Ends a write begun by [`begin_write`](Self::begin_write) or `commit_signal`; returns
    /// whether the node is still alive.
    fn end_write(&self, index: u32, generation: u32, add: Flags) -> bool {
        let mut graph = self.graph.borrow_mut();
        // Checked: cheaper than the unchecked lookup here, as measured (the write path's code
        // layout); user code may have freed the node meanwhile (its payload then waits in the
        // graveyard).
        if let Some(node) = graph.nodes.get_mut(index, generation) {
            node.flags.remove(Flags::WRITING | Flags::UPDATING);
            node.flags.insert(add);
            return true;
        }
        drop(graph);
        self.unpin(index, generation, add.contains(Flags::HAS_PENDING));
        false
    }

    /// Ends a read begun by [`read`](Self::read) on a signal (a read whose guard drops).
    #[inline]
    pub(crate) fn end_read(&self, node: NodeRef) {
        self.end_read_with(node, ());
    }

    /// Ends a read begun by [`read`](Self::read) on a signal and returns `r`, what the read
    /// produced, shaped so that the rare case (the node was freed meanwhile) is a call in
    /// tail position, with nothing of the read to keep across it.
    #[inline(always)]
    pub(crate) fn end_read_with<R>(&self, node: NodeRef, r: R) -> R {
        let mut graph = self.graph.borrow_mut();
        // The read found the node live, so its index was handed out; if user code freed the
        // node meanwhile, the read's pin keeps its payload in the graveyard, and nothing
        // shrinks the arena until the graveyard is empty (`Runtime::shrink_if_idle`).
        if let Some(n) = graph.nodes.get_mut_handed_out(node.index, node.generation) {
            n.borrows -= 1;
            return r;
        }
        drop(graph);
        self.end_read_freed(node, r)
    }

    /// [`end_read_with`](Self::end_read_with) for a node freed while it was read.
    #[cold]
    #[inline(never)]
    fn end_read_freed<R>(&self, node: NodeRef, r: R) -> R {
        self.unpin(node.index, node.generation, false);
        r
    }

    /// A borrow of a node freed while it lasted has ended: removes its pin from the payload
    /// in the graveyard, and drops the payload if that was the last one. `has_pending` says
    /// the borrow left a write in the pending slot.
    #[cold]
    fn unpin(&self, index: u32, generation: u32, has_pending: bool) {
        let released = {
            let mut graveyard = self.graveyard.borrow_mut();
            let Some(at) = graveyard
                .iter()
                .position(|b| b.index == index && b.generation == generation)
            else {
                unreachable!("a borrow of a freed node keeps its payload in the graveyard")
            };
            let buried = &mut graveyard[at];
            buried.has_pending |= has_pending;
            buried.pins -= 1;
            (buried.pins == 0 && !buried.payload.in_use()).then(|| graveyard.swap_remove(at))
        };
        if let Some(freed) = released {
            drop(freed);
        }
    }

    /// Drops the payload of a node that was just freed, or keeps it in the graveyard while a
    /// borrow still uses it (a `with` closure that disposed the node it reads, say).
    pub(crate) fn release_payload(&self, freed: Freed) {
        if freed.pins == 0 && !freed.payload.in_use() {
            drop(freed);
        } else {
            self.graveyard.borrow_mut().push(freed);
        }
    }

    /// Whether no freed node's payload waits for a read or write to end.
    pub(crate) fn graveyard_is_empty(&self) -> bool {
        self.graveyard.borrow().is_empty()
    }

    /// Drops the payloads in the graveyard that nothing uses any more; a destructor's panic is
    /// kept in `panics` and does not stop the others.
    pub(crate) fn bury_released(&self, panics: &mut Panics) {
        let released: Vec<Freed> = {
            let mut graveyard = self.graveyard.borrow_mut();
            if graveyard.is_empty() {
                return;
            }
            graveyard
                .extract_if(.., |b| b.pins == 0 && !b.payload.in_use())
                .collect()
        };
        for freed in released {
            panics.catch(|| drop(freed));
        }
    }
}
