//! The crate's error type and the creation sites it reports.

use std::fmt;
use std::panic::Location;

/// Everything that can go wrong in a reactive operation.
///
/// # Examples
/// ```
/// use stateloom_core::{Error, signal};
///
/// let count = signal(1);
/// count.dispose();
/// assert!(matches!(count.try_get(), Err(Error::Disposed { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A handle was read after its node was disposed.
    #[error(
        "read of a disposed {kind} ({origin}); a node is disposed with its root, its owning effect or computed, or by `dispose`"
    )]
    Disposed {
        /// `"signal"` or `"computed"`.
        kind: &'static str,
        /// Where the node was created.
        origin: Origin,
    },
    /// A computed read itself, directly or through other computeds, while computing.
    #[error("cycle detected: computed ({origin}) read itself while it was computing")]
    Cycle {
        /// Where the computed was created.
        origin: Origin,
    },
    /// Effects kept re-triggering each other and the flush gave up (see
    /// [`set_flush_round_limit`](crate::set_flush_round_limit)).
    #[error(
        "effects did not settle after {rounds} flush rounds: an effect keeps writing a signal that re-triggers it (one of them: {origin}); the effects still scheduled were dropped from this flush without running and run again when what they read changes"
    )]
    EffectLoop {
        /// How many rounds ran before the flush stopped.
        rounds: usize,
        /// Where one of the effects still scheduled was created.
        origin: Origin,
    },
    /// A scope value could not be serialized or deserialized.
    #[error("scope entry `{key}`: {message}")]
    Scope {
        /// The entry's key.
        key: String,
        /// What the serializer reported.
        message: String,
    },
}

/// A crate-wide `Result` defaulting to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a node was created: recorded in builds with debug assertions, absent otherwise.
///
/// # Examples
/// ```
/// let origin = stateloom_core::Origin::here();
/// if cfg!(debug_assertions) {
///     assert!(origin.location().is_some());
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin(Option<&'static Location<'static>>);

impl Origin {
    /// An origin that was not recorded (release builds).
    pub(crate) const UNKNOWN: Origin = Origin(None);

    /// The caller's location (debug builds) or an unknown origin (release builds).
    #[track_caller]
    pub fn here() -> Self {
        Self::from_location(Location::caller())
    }

    pub(crate) fn from_location(location: &'static Location<'static>) -> Self {
        if cfg!(debug_assertions) {
            Self(Some(location))
        } else {
            Self(None)
        }
    }

    /// The source location, if this build records it.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(location) => write!(f, "created at {location}"),
            None => f.write_str("creation site is recorded in debug builds"),
        }
    }
}
