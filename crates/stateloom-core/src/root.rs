//! Roots: explicit owners whose disposal frees everything created under them.

use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};

use crate::graph::{Flags, NodeKind};
use crate::runtime::{NodeRef, with_runtime};

/// Runs `f` with a new [`Root`] as the owner of every node it creates, untracked, and returns
/// `f`'s value together with the root. Disposing the root disposes all of them.
///
/// If `f` panics, the root and what it created are disposed and the panic continues.
///
/// # Examples
/// ```
/// use stateloom_core::{create_root, runtime_stats, signal};
///
/// let before = runtime_stats();
/// let (count, root) = create_root(|| signal(0));
/// count.set(1);
/// root.dispose();
/// assert!(count.try_get().is_err());
/// assert_eq!(runtime_stats(), before);
/// ```
#[track_caller]
pub fn create_root<T>(f: impl FnOnce() -> T) -> (T, Root) {
    let location = Location::caller();
    with_runtime(|rt| {
        let node = rt.create(NodeKind::Root, Flags::default(), None, location);
        match catch_unwind(AssertUnwindSafe(|| rt.with_owner(node.index, f))) {
            Ok(value) => (value, Root { node }),
            Err(payload) => {
                rt.dispose(node);
                resume_unwind(payload)
            }
        }
    })
}

/// An owner created by [`create_root`]. Dropping a `Root` leaves its nodes alive; call
/// [`dispose`](Root::dispose) to free them.
///
/// # Examples
/// ```
/// let (_, root) = stateloom_core::create_root(|| ());
/// let s = root.run(|| stateloom_core::signal(1)); // owned by `root` too
/// root.dispose();
/// assert!(!s.is_alive());
/// ```
#[must_use = "dropping a Root keeps its nodes alive; call `dispose` to free them"]
pub struct Root {
    node: NodeRef,
}

impl Root {
    /// Runs `f` with this root as the owner of the nodes it creates, untracked.
    ///
    /// # Panics
    /// If the root was disposed.
    ///
    /// # Examples
    /// See [`Root`].
    #[track_caller]
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        with_runtime(|rt| {
            assert!(
                rt.is_live(self.node),
                "`Root::run` on a disposed root ({})",
                self.node.origin()
            );
            rt.with_owner(self.node.index, f)
        })
    }

    /// Disposes every node created under this root (children before owners, cleanups
    /// included) and the root itself.
    ///
    /// # Examples
    /// See [`create_root`].
    pub fn dispose(self) {
        with_runtime(|rt| rt.dispose(self.node));
    }
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root({:?}, {})", self.node, self.node.origin())
    }
}
