//! Dependency links: each link is one edge `dep -> sub` and sits in two intrusive doubly-linked
//! lists at once, the dependency's subscribers and the subscriber's dependencies.
#![allow(unsafe_code)] // Unchecked indexing by internal link ids; see `Links::at`.

use super::{Flags, Graph};
use crate::arena::NIL;

/// How many of a run's latest dependencies `link` searches before creating a link.
const RECENT_READS: usize = 32;

/// One edge of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    /// The source being read.
    pub(crate) dep: u32,
    /// The consumer reading it.
    pub(crate) sub: u32,
    pub(crate) prev_sub: u32,
    pub(crate) next_sub: u32,
    pub(crate) prev_dep: u32,
    pub(crate) next_dep: u32,
    /// The run stamp of the consumer run that last tracked this link.
    pub(crate) stamp: u32,
}

/// Storage for links: a `Vec` with an intrusive LIFO free list threaded through `next_dep`,
/// so a consumer that drops and re-creates links on every run reuses the same warm slots.
///
/// # Invariants
/// `free` chains the vacant slots through `next_dep`; `len` counts the live links.
pub(crate) struct Links {
    slots: Vec<Link>,
    free: u32,
    len: u32,
}

impl Links {
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// Number of live links.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// The link with an id the graph holds (always a live link).
    #[inline]
    pub(crate) fn at(&self, id: u32) -> &Link {
        debug_assert!(
            (id as usize) < self.slots.len(),
            "stateloom internal error: link {id}"
        );
        // SAFETY: the graph holds ids of live links only, and only vacant slots are ever
        // removed from the `Vec` (`shrink`), so `id < slots.len()` (checked in debug builds
        // above).
        unsafe { self.slots.get_unchecked(id as usize) }
    }

    /// Mutable access to a link the graph holds.
    #[inline]
    pub(crate) fn at_mut(&mut self, id: u32) -> &mut Link {
        debug_assert!(
            (id as usize) < self.slots.len(),
            "stateloom internal error: link {id}"
        );
        // SAFETY: as in `at`.
        unsafe { self.slots.get_unchecked_mut(id as usize) }
    }

    fn alloc(&mut self, link: Link) -> u32 {
        self.len += 1;
        if self.free != NIL {
            let id = self.free;
            self.free = self.slots[id as usize].next_dep;
            self.slots[id as usize] = link;
            return id;
        }
        let id = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("stateloom link storage is full (more than 4 billion links)");
        self.slots.push(link);
        id
    }

    /// The number of links there is room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Gives memory back when less than a quarter of the slots hold a link: removes the
    /// vacant slots at the end (live links never move) and shrinks the buffer to twice the
    /// live count, but not below `keep` slots. Returns whether anything was removed.
    ///
    /// The caller must hold no id of a vacant slot that it will use unchecked: the graph holds
    /// ids of live links only.
    pub(crate) fn shrink(&mut self, keep: usize) -> bool {
        let live = self.len();
        if self.slots.capacity() <= keep || live.saturating_mul(4) >= self.slots.len() {
            return false;
        }
        let mut vacant = vec![false; self.slots.len()];
        let mut id = self.free;
        while id != NIL {
            vacant[id as usize] = true;
            id = self.slots[id as usize].next_dep;
        }
        let end = vacant.iter().rposition(|&v| !v).map_or(0, |last| last + 1);
        self.slots.truncate(end);
        // Chain the vacant slots that stay, lowest first, so they are reused lowest first.
        self.free = NIL;
        for id in (0..end).rev() {
            if vacant[id] {
                self.slots[id].next_dep = self.free;
                self.free = id as u32;
            }
        }
        self.slots
            .shrink_to(end.max(live.saturating_mul(2)).max(keep));
        true
    }

    /// Clears the run stamp of every link, live or vacant (see `Graph::restart_stamps`).
    pub(crate) fn clear_stamps(&mut self) {
        for link in &mut self.slots {
            link.stamp = 0;
        }
    }

    fn release(&mut self, id: u32) {
        let link = &mut self.slots[id as usize];
        *link = Link {
            dep: NIL,
            sub: NIL,
            prev_sub: NIL,
            next_sub: NIL,
            prev_dep: NIL,
            next_dep: self.free,
            stamp: 0,
        };
        self.free = id;
        self.len -= 1;
    }
}

impl Graph {
    /// Records that `sub`, during the run stamped `stamp`, read `dep`.
    ///
    /// Tries, in order: `dep`'s mark (a source this run already tracked, the cheapest test,
    /// since the caller has just read `dep`'s node), the next dependency of the previous run
    /// (the usual case: reads happen in the same order every run), the dependency just
    /// tracked (a repeated read after a nested run overwrote the mark), and a link at the
    /// tail of `dep`'s subscribers stamped with this run (a repeated read further back). Only
    /// then does it create a link, placed right after the last tracked one.
    #[inline(always)]
    pub(crate) fn link(&mut self, dep: u32, sub: u32, stamp: u32) {
        // Invariant: a source's mark equals a stamp only if the run with that stamp tracked it
        // (stamps are unique per run, see `Graph::new_stamp`, and never 0, the mark of a
        // source nothing tracked yet).
        if self.nodes.at(dep).mark == stamp {
            return;
        }
        let prev_dep = self.nodes.at(sub).deps_tail;
        let next_dep = if prev_dep == NIL {
            self.nodes.at(sub).deps
        } else {
            self.links.at(prev_dep).next_dep
        };
        if next_dep != NIL && self.links.at(next_dep).dep == dep {
            self.links.at_mut(next_dep).stamp = stamp;
            self.nodes.at_mut(sub).deps_tail = next_dep;
            self.nodes.at_mut(dep).mark = stamp;
            return;
        }
        if prev_dep != NIL && self.links.at(prev_dep).dep == dep {
            return;
        }
        self.link_after(dep, sub, stamp, prev_dep, next_dep);
        self.nodes.at_mut(dep).mark = stamp;
    }

    /// The rest of [`link`](Self::link), when the read is neither a repeat of the last one nor
    /// the next dependency of the previous run.
    #[inline(never)]
    fn link_after(&mut self, dep: u32, sub: u32, stamp: u32, prev_dep: u32, next_dep: u32) {
        let prev_sub = self.nodes.at(dep).subs_tail;
        // `dep`'s mark did not match, so this run has not tracked it, unless a run nested in
        // this one tracked it since and overwrote the mark. Stamps are handed out in order at
        // the start of each run, so if the newest one is still this run's, none was nested.
        if self.next_stamp != stamp {
            if prev_sub != NIL {
                let l = self.links.at(prev_sub);
                if l.stamp == stamp && l.sub == sub {
                    return;
                }
            }
            if self.tracked_recently(dep, prev_dep) {
                return;
            }
        }
        if let Some(old) = self.untracked_soon(dep, next_dep) {
            self.move_to_cursor(old, sub, prev_dep, next_dep, stamp);
            return;
        }
        self.insert_link(dep, sub, prev_dep, next_dep, prev_sub, stamp);
    }

    /// The previous run's link to `dep` among the next [`RECENT_READS`] untracked ones, if any:
    /// reads that changed order reuse their old link rather than leave it to be reused by a
    /// later read of the same dependency, which would track it twice.
    #[cold]
    fn untracked_soon(&self, dep: u32, next: u32) -> Option<u32> {
        let mut link = next;
        for _ in 0..RECENT_READS {
            if link == NIL {
                return None;
            }
            let l = self.links.at(link);
            if l.dep == dep {
                return Some(link);
            }
            link = l.next_dep;
        }
        None
    }

    /// Moves an untracked link of `sub` to the cursor (between `prev_dep` and `next_dep`); its
    /// place among the dependency's subscribers does not change.
    #[cold]
    fn move_to_cursor(&mut self, id: u32, sub: u32, prev_dep: u32, next_dep: u32, stamp: u32) {
        let (old_prev, old_next) = {
            let l = self.links.at(id);
            (l.prev_dep, l.next_dep)
        };
        // Take it out of the dependency list; it sits after `next_dep`, so `old_prev` is live.
        self.links.at_mut(old_prev).next_dep = old_next;
        if old_next != NIL {
            self.links.at_mut(old_next).prev_dep = old_prev;
        } else if self.nodes.at(sub).deps_tail == id {
            self.nodes.at_mut(sub).deps_tail = old_prev;
        }
        // Put it back at the cursor.
        let l = self.links.at_mut(id);
        l.prev_dep = prev_dep;
        l.next_dep = next_dep;
        l.stamp = stamp;
        self.links.at_mut(next_dep).prev_dep = id;
        if prev_dep != NIL {
            self.links.at_mut(prev_dep).next_dep = id;
        } else {
            self.nodes.at_mut(sub).deps = id;
        }
        self.nodes.at_mut(sub).deps_tail = id;
    }

    /// Whether `dep` is among the last [`RECENT_READS`] dependencies this run tracked (ending
    /// at `tail`). Catches a repeated read separated from the first one by a nested run that
    /// subscribed to `dep` too (a computed's first run, say), which the checks above miss.
    /// Past that window a repeated read may get a second link: harmless, and reused in order
    /// by later runs, so it does not grow.
    #[cold]
    fn tracked_recently(&self, dep: u32, tail: u32) -> bool {
        let mut link = tail;
        for _ in 0..RECENT_READS {
            if link == NIL {
                return false;
            }
            let l = self.links.at(link);
            if l.dep == dep {
                return true;
            }
            link = l.prev_dep;
        }
        false
    }

    #[cold]
    fn insert_link(
        &mut self,
        dep: u32,
        sub: u32,
        prev_dep: u32,
        next_dep: u32,
        prev_sub: u32,
        stamp: u32,
    ) {
        let id = self.links.alloc(Link {
            dep,
            sub,
            prev_sub,
            next_sub: NIL,
            prev_dep,
            next_dep,
            stamp,
        });
        if next_dep != NIL {
            self.links.at_mut(next_dep).prev_dep = id;
        }
        if prev_dep != NIL {
            self.links.at_mut(prev_dep).next_dep = id;
        } else {
            self.nodes.at_mut(sub).deps = id;
        }
        if prev_sub != NIL {
            self.links.at_mut(prev_sub).next_sub = id;
        } else {
            self.nodes.at_mut(dep).subs = id;
        }
        self.nodes.at_mut(sub).deps_tail = id;
        self.nodes.at_mut(dep).subs_tail = id;
    }

    /// Removes a link from both lists, frees it, and returns the next dependency of its
    /// subscriber.
    pub(crate) fn unlink(&mut self, id: u32) -> u32 {
        let Link {
            dep,
            sub,
            prev_sub,
            next_sub,
            prev_dep,
            next_dep,
            ..
        } = *self.links.at(id);
        if next_dep != NIL {
            self.links.at_mut(next_dep).prev_dep = prev_dep;
        }
        if prev_dep != NIL {
            self.links.at_mut(prev_dep).next_dep = next_dep;
        } else {
            self.nodes.at_mut(sub).deps = next_dep;
        }
        // While `sub` runs, `deps_tail` is its tracking cursor and may point anywhere in the
        // list; keep it on a live link.
        let node = self.nodes.at_mut(sub);
        if node.deps_tail == id {
            node.deps_tail = prev_dep;
        }
        if node.flags.contains(Flags::CHECKING) {
            self.invalidate_checks();
        }
        if next_sub != NIL {
            self.links.at_mut(next_sub).prev_sub = prev_sub;
        } else {
            self.nodes.at_mut(dep).subs_tail = prev_sub;
        }
        if prev_sub != NIL {
            self.links.at_mut(prev_sub).next_sub = next_sub;
        } else {
            self.nodes.at_mut(dep).subs = next_sub;
        }
        self.links.release(id);
        next_dep
    }

    /// Ends the tracking of a run that finished: drops every dependency after the last one the
    /// run tracked.
    #[inline]
    pub(crate) fn purge_untracked(&mut self, sub: u32) {
        let tail = self.nodes.at(sub).deps_tail;
        let mut link = if tail == NIL {
            self.nodes.at(sub).deps
        } else {
            self.links.at(tail).next_dep
        };
        while link != NIL {
            link = self.unlink(link);
        }
    }

    /// Ends the tracking of a run that panicked: keeps the dependencies of the previous run that
    /// this run did not reach, so the node still hears about everything it may depend on, and
    /// restores `deps_tail` to the real end of the list.
    pub(crate) fn keep_untracked(&mut self, sub: u32) {
        let mut tail = self.nodes.at(sub).deps_tail;
        if tail == NIL {
            tail = self.nodes.at(sub).deps;
        }
        if tail == NIL {
            return;
        }
        while self.links.at(tail).next_dep != NIL {
            tail = self.links.at(tail).next_dep;
        }
        self.nodes.at_mut(sub).deps_tail = tail;
    }

    /// Whether `link` was tracked by the current run of `sub` (it sits at or before the cursor).
    ///
    /// Every link the run tracked carries the run's stamp, and so does the cursor, the last of
    /// them; links of earlier runs carry older stamps. So this is one comparison, not a walk
    /// back along the run's links.
    #[inline]
    pub(crate) fn is_tracked(&self, link: u32, sub: u32) -> bool {
        let tail = self.nodes.at(sub).deps_tail;
        tail != NIL && self.links.at(link).stamp == self.links.at(tail).stamp
    }
}

#[cfg(test)]
mod tests {
    use std::panic::Location;

    use super::*;
    use crate::graph::{Node, NodeKind, Payload};

    fn node(graph: &mut Graph, kind: NodeKind) -> u32 {
        graph
            .insert(
                Node::new(kind, Flags::default(), Payload::none(), Location::caller()),
                NIL,
            )
            .0
    }

    fn deps(graph: &Graph, sub: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut l = graph.nodes.at(sub).deps;
        while l != NIL {
            let link = graph.links.at(l);
            assert_eq!(link.sub, sub);
            if link.next_dep != NIL {
                assert_eq!(
                    graph.links.at(link.next_dep).prev_dep,
                    l,
                    "broken back pointer"
                );
            } else {
                assert_eq!(graph.nodes.at(sub).deps_tail, l, "tail is the last link");
            }
            out.push(link.dep);
            l = link.next_dep;
        }
        out
    }

    fn subs(graph: &Graph, dep: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut l = graph.nodes.at(dep).subs;
        while l != NIL {
            let link = graph.links.at(l);
            assert_eq!(link.dep, dep);
            if link.next_sub != NIL {
                assert_eq!(
                    graph.links.at(link.next_sub).prev_sub,
                    l,
                    "broken back pointer"
                );
            } else {
                assert_eq!(graph.nodes.at(dep).subs_tail, l, "tail is the last link");
            }
            out.push(link.sub);
            l = link.next_sub;
        }
        out
    }

    /// Simulates one run of `sub` that reads `reads` in order.
    fn run(graph: &mut Graph, sub: u32, reads: &[u32]) {
        graph.next_stamp += 1;
        let stamp = graph.next_stamp;
        graph.nodes.at_mut(sub).deps_tail = NIL;
        for &dep in reads {
            graph.link(dep, sub, stamp);
        }
        graph.purge_untracked(sub);
    }

    #[test]
    fn links_sit_in_both_lists_and_repeated_reads_link_once() {
        let mut g = Graph::new();
        let a = node(&mut g, NodeKind::Signal);
        let b = node(&mut g, NodeKind::Signal);
        let c = node(&mut g, NodeKind::Computed);
        let e = node(&mut g, NodeKind::Effect);
        run(&mut g, c, &[a, b, a, a, b]);
        run(&mut g, e, &[a]);
        assert_eq!(deps(&g, c), [a, b]);
        assert_eq!(subs(&g, a), [c, e]);
        assert_eq!(subs(&g, b), [c]);
        assert_eq!(g.links.len(), 3);
    }

    #[test]
    fn rerun_reuses_links_and_purges_stale_ones() {
        let mut g = Graph::new();
        let s: Vec<u32> = (0..4).map(|_| node(&mut g, NodeKind::Signal)).collect();
        let c = node(&mut g, NodeKind::Computed);
        run(&mut g, c, &[s[0], s[1], s[2]]);
        let first = g.nodes.at(c).deps;
        run(&mut g, c, &[s[0], s[1], s[2]]);
        assert_eq!(g.nodes.at(c).deps, first, "same reads reuse the same links");
        assert_eq!(g.links.len(), 3);
        run(&mut g, c, &[s[0], s[3]]);
        assert_eq!(deps(&g, c), [s[0], s[3]]);
        assert!(subs(&g, s[1]).is_empty() && subs(&g, s[2]).is_empty());
        assert_eq!(subs(&g, s[3]), [c]);
        assert_eq!(g.links.len(), 2);
        run(&mut g, c, &[s[3], s[2], s[0]]);
        assert_eq!(
            deps(&g, c),
            [s[3], s[2], s[0]],
            "reordered reads keep their order"
        );
        assert_eq!(g.links.len(), 3);
        run(&mut g, c, &[]);
        assert!(deps(&g, c).is_empty());
        assert_eq!(g.links.len(), 0);
    }

    #[test]
    fn a_repeated_read_after_a_nested_subscription_links_once() {
        let mut g = Graph::new();
        let s = node(&mut g, NodeKind::Signal);
        let c = node(&mut g, NodeKind::Computed);
        let e = node(&mut g, NodeKind::Effect);
        g.next_stamp += 1;
        let outer = g.next_stamp;
        g.nodes.at_mut(e).deps_tail = NIL;
        g.link(s, e, outer);
        run(&mut g, c, &[s]); // a nested run subscribes `c` to `s`
        g.link(c, e, outer);
        g.link(s, e, outer);
        g.purge_untracked(e);
        assert_eq!(deps(&g, e), [s, c]);
        assert_eq!(subs(&g, s), [e, c]);
        assert_eq!(g.links.len(), 3);
    }

    #[test]
    fn reordered_reads_never_track_a_dependency_twice() {
        let mut g = Graph::new();
        let a = node(&mut g, NodeKind::Signal);
        let b = node(&mut g, NodeKind::Signal);
        let c = node(&mut g, NodeKind::Computed);
        run(&mut g, c, &[a, b]);
        let links: Vec<u32> = vec![g.nodes.at(c).deps, g.nodes.at(c).deps_tail];
        run(&mut g, c, &[b, a, b]);
        assert_eq!(deps(&g, c), [b, a]);
        assert_eq!(g.links.len(), 2);
        let mut now = vec![g.nodes.at(c).deps, g.nodes.at(c).deps_tail];
        now.reverse();
        assert_eq!(
            now, links,
            "the old links moved instead of new ones being made"
        );
        run(&mut g, c, &[a, a, b, b, a]);
        assert_eq!(deps(&g, c), [a, b]);
        assert_eq!(g.links.len(), 2);
    }

    #[test]
    fn freed_links_are_recycled() {
        let mut g = Graph::new();
        let a = node(&mut g, NodeKind::Signal);
        let b = node(&mut g, NodeKind::Signal);
        let c = node(&mut g, NodeKind::Computed);
        for i in 0..100 {
            let dep = if i % 2 == 0 { a } else { b };
            run(&mut g, c, &[dep]);
        }
        assert_eq!(g.links.len(), 1);
        assert!(
            g.links.slots.len() <= 2,
            "a flipping dependency reuses slots"
        );
    }

    #[test]
    fn unlinking_the_cursor_keeps_it_on_a_live_link() {
        let mut g = Graph::new();
        let a = node(&mut g, NodeKind::Signal);
        let b = node(&mut g, NodeKind::Signal);
        let c = node(&mut g, NodeKind::Computed);
        run(&mut g, c, &[a, b]);
        let first = g.nodes.at(c).deps;
        let second = g.links.at(first).next_dep;
        // Mid-run: a new run has tracked only `a` so far.
        g.next_stamp += 1;
        let stamp = g.next_stamp;
        g.nodes.at_mut(c).deps_tail = NIL;
        g.link(a, c, stamp);
        assert_eq!(g.nodes.at(c).deps_tail, first);
        assert!(g.is_tracked(first, c));
        assert!(!g.is_tracked(second, c));
        g.unlink(first);
        assert_eq!(g.nodes.at(c).deps_tail, NIL);
        g.keep_untracked(c);
        assert_eq!(deps(&g, c), [b]);
    }

    #[test]
    fn freeing_a_node_detaches_both_directions() {
        let mut g = Graph::new();
        let a = node(&mut g, NodeKind::Signal);
        let c = node(&mut g, NodeKind::Computed);
        let e = node(&mut g, NodeKind::Effect);
        run(&mut g, c, &[a]);
        run(&mut g, e, &[c, a]);
        g.free(c);
        assert_eq!(subs(&g, a), [e]);
        assert_eq!(deps(&g, e), [a]);
        assert_eq!(g.links.len(), 1);
        assert_eq!(g.nodes.len(), 2);
    }
}
