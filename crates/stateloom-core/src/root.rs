//! Roots: explicit owners whose disposal frees everything created under them.

use std::fmt;
use std::panic::{AssertUnwindSafe, Location, catch_unwind, resume_unwind};

use crate::graph::{Flags, NodeKind, Payload};
use crate::runtime::{NodeRef, Owner, try_with_runtime, with_runtime};

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
    new_root(false, Location::caller(), f)
}

/// Like [`create_root`], but the new root has no owner even when it is created inside another
/// root, a computed or an effect: nothing disposes it except its own [`Root::dispose`].
///
/// Libraries that keep nodes for as long as a value of theirs lives (a store, an atom scope)
/// use it, so a user who creates that value inside an effect does not lose its nodes when the
/// effect re-runs.
///
/// If `f` panics, the root and what it created are disposed and the panic continues.
///
/// # Examples
/// ```
/// use stateloom_core::{create_detached_root, create_root, signal};
///
/// let (inner, outer) = create_root(|| create_detached_root(|| signal(1)));
/// outer.dispose();
/// let (count, root) = inner;
/// assert_eq!(count.get(), 1); // the detached root outlived `outer`
/// root.dispose();
/// assert!(!count.is_alive());
/// ```
#[track_caller]
pub fn create_detached_root<T>(f: impl FnOnce() -> T) -> (T, Root) {
    new_root(true, Location::caller(), f)
}

/// An owner created by [`create_root`] or [`create_detached_root`]. Dropping a `Root` leaves
/// its nodes alive; call [`dispose`](Root::dispose) to free them.
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
            rt.with_owner(self.node.into(), f)
        })
    }

    /// Disposes every node created under this root (children before owners, cleanups
    /// included) and the root itself.
    ///
    /// Called while the thread exits, after its runtime is gone (from a `Drop` run by the
    /// runtime's own teardown, say), it does nothing: the nodes went with the runtime.
    ///
    /// # Panics
    /// If a cleanup (or the destructor of a value owned by a node) panics, the disposal
    /// finishes first (every other cleanup runs and every node is freed), then the first
    /// panic continues.
    ///
    /// # Examples
    /// See [`create_root`].
    pub fn dispose(self) {
        try_with_runtime(|rt| rt.dispose(self.node));
    }
}

/// Creates a root, owned by the current owner unless `detached`, and runs `f` under it.
fn new_root<T>(
    detached: bool,
    location: &'static Location<'static>,
    f: impl FnOnce() -> T,
) -> (T, Root) {
    with_runtime(|rt| {
        let create = || rt.create(NodeKind::Root, Flags::default(), Payload::none(), location);
        let node = if detached {
            rt.with_owner(Owner::NONE, create)
        } else {
            create()
        };
        match catch_unwind(AssertUnwindSafe(|| rt.with_owner(node.into(), f))) {
            Ok(value) => (value, Root { node }),
            Err(payload) => {
                // The body's panic wins over one from a cleanup of what it created.
                let _ = catch_unwind(AssertUnwindSafe(|| rt.dispose(node)));
                resume_unwind(payload)
            }
        }
    })
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root({:?}, {})", self.node, self.node.origin())
    }
}
