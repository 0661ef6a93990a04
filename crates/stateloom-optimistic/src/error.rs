//! Errors: [`CallError`], how a mutation call can end without a value, and [`Error`], the
//! crate's misuse errors.

use stateloom_atom::AtomId;

/// How a mutation call ended without a value.
///
/// # Examples
/// ```
/// use stateloom_optimistic::{CallError, Concurrency, mutation};
///
/// let fail = mutation(Concurrency::Switch, |_: (), _| async { Err::<(), _>("no") });
/// let outcome = futures::executor::block_on(fail.write(()));
/// assert_eq!(outcome, Err(CallError::Failed("no")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError<E> {
    /// The mutation's future returned an error.
    #[error("the mutation failed")]
    Failed(E),
    /// The call was cancelled before it settled: by [`Call::cancel`](crate::Call::cancel), a
    /// newer call under [`Concurrency::Switch`](crate::Concurrency::Switch), or its scope
    /// going away.
    #[error("the mutation call was cancelled")]
    Cancelled,
    /// The mutation's future panicked. The panic goes on to whoever polled it (the caller, or
    /// the executor); the call is settled first, so the mutation and its optimistic
    /// transition are left as after a cancellation.
    #[error("the mutation panicked")]
    Panicked,
}

/// Misuse of this crate's functions; the panics they document carry these messages.
///
/// # Examples
/// ```
/// use stateloom_atom::{AtomHandle, atom};
/// use stateloom_optimistic::Error;
///
/// let plain = atom(0);
/// let message = Error::NotOptimistic(plain.id()).to_string();
/// assert!(message.starts_with("atom"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An optimistic function was given an atom that `optimistic` or `optimistic_value` did
    /// not make (or made with another value type).
    #[error(
        "atom {0:?} is not an optimistic atom of this value type; make it with `optimistic` or `optimistic_value`"
    )]
    NotOptimistic(AtomId),
    /// An optimistic function was given an atom that is not a mutation of this crate (or has
    /// other argument, value or error types).
    #[error(
        "atom {0:?} is not a mutation with these types; make it with `mutation` or `MutationBuilder`"
    )]
    NotMutation(AtomId),
    /// `apply_response` needs a query to write into, and the optimistic atom has none.
    #[error(
        "optimistic atom {0:?} wraps no query, so a response cannot be written into it; use `optimistic(query)`"
    )]
    NoResponseTarget(AtomId),
}
