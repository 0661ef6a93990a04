//! The crate's error type.

use crate::handle::AtomId;

/// Everything that can go wrong when reading or writing an atom.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomScope, Error, atom};
///
/// let count = atom(0);
/// let scope = AtomScope::new();
/// scope.dispose();
/// assert!(matches!(scope.try_get(count), Err(Error::ScopeDisposed)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The atom was removed from its family (or its family was cleared) and is not mounted in
    /// the scope it was used in; its handle is stale there.
    #[error(
        "atom {id:?} was removed from its family; get a fresh handle from the family instead of keeping an old one"
    )]
    Removed {
        /// The stale atom's id.
        id: AtomId,
    },
    /// The scope was disposed (or dropped); it holds no values any more.
    #[error("the atom scope was disposed; create a new one with `AtomScope::new`")]
    ScopeDisposed,
    /// The kernel reported an error: a derived atom that reads itself is a cycle.
    #[error(transparent)]
    Core(#[from] stateloom_core::Error),
}

/// A crate-wide `Result` defaulting to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
