//! The cell that holds a thread's graph: `RefCell`-like access without a borrow flag in
//! release builds.
#![allow(unsafe_code)] // The one place the graph is reached through a raw cell; see `GraphCell`.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use super::Graph;

/// Owns a thread's [`Graph`] and hands out exclusive access to it.
///
/// Every operation on the graph borrows it for a short stretch of code that calls no user
/// code, so a borrow flag, checked on every access by a `RefCell`, only ever guards against
/// bugs in this crate. Release builds drop it; debug builds, where every test runs, keep it
/// and panic on an overlapping borrow exactly as a `RefCell` would.
///
/// # Invariants
/// At most one [`GraphMut`] exists at a time. The runtime keeps this by never calling user
/// code (closures, equality functions, destructors of user values) while it holds one, and by
/// never borrowing again while it holds one; debug builds check it on every borrow.
pub(crate) struct GraphCell {
    graph: UnsafeCell<Graph>,
    #[cfg(debug_assertions)]
    borrowed: std::cell::Cell<bool>,
}

/// Exclusive access to the graph, released when dropped.
pub(crate) struct GraphMut<'a> {
    graph: &'a mut Graph,
    #[cfg(debug_assertions)]
    borrowed: &'a std::cell::Cell<bool>,
}

impl GraphCell {
    pub(crate) const fn new(graph: Graph) -> Self {
        Self {
            graph: UnsafeCell::new(graph),
            #[cfg(debug_assertions)]
            borrowed: std::cell::Cell::new(false),
        }
    }

    /// Borrows the graph exclusively.
    ///
    /// # Panics
    /// In debug builds, if the graph is already borrowed (a bug in this crate).
    #[inline]
    pub(crate) fn borrow_mut(&self) -> GraphMut<'_> {
        #[cfg(debug_assertions)]
        assert!(
            !self.borrowed.replace(true),
            "stateloom internal error: the graph was borrowed twice"
        );
        GraphMut {
            // SAFETY: `GraphCell` is not `Sync` (it holds an `UnsafeCell`), so only this thread
            // reaches it, and by the type's invariant no other `GraphMut` is alive, so this is
            // the only reference to the graph until it is dropped.
            graph: unsafe { &mut *self.graph.get() },
            #[cfg(debug_assertions)]
            borrowed: &self.borrowed,
        }
    }

    /// Borrows the graph; the same exclusive borrow as [`borrow_mut`](Self::borrow_mut).
    #[inline]
    pub(crate) fn borrow(&self) -> GraphMut<'_> {
        self.borrow_mut()
    }
}

impl Deref for GraphMut<'_> {
    type Target = Graph;

    #[inline]
    fn deref(&self) -> &Graph {
        self.graph
    }
}

impl DerefMut for GraphMut<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Graph {
        self.graph
    }
}

#[cfg(debug_assertions)]
impl Drop for GraphMut<'_> {
    fn drop(&mut self) {
        self.borrowed.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_give_access_and_release() {
        let cell = GraphCell::new(Graph::new());
        cell.borrow_mut().next_seq = 7;
        assert_eq!(cell.borrow().next_seq, 7);
        let first = cell.borrow_mut();
        drop(first);
        let _second = cell.borrow_mut();
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "borrowed twice")]
    fn an_overlapping_borrow_panics_in_debug_builds() {
        let cell = GraphCell::new(Graph::new());
        let _first = cell.borrow_mut();
        let _second = cell.borrow_mut();
    }
}
