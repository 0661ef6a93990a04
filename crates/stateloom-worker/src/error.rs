//! The crate's error type, and the error value that travels in a reply.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What can go wrong in `stateloom-worker`.
///
/// # Examples
/// ```
/// use stateloom_worker::{Error, RemoteError};
///
/// let error = Error::Remote(RemoteError::new("unknown-method", "no method `fly` in module `counter`"));
/// assert_eq!(error.to_string(), "remote error unknown-method: no method `fly` in module `counter`");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host answered the call with an error.
    #[error("remote error {}: {}", .0.code, .0.message)]
    Remote(RemoteError),
    /// The call was not settled within its timeout.
    #[error("the call timed out after {after:?}")]
    Timeout {
        /// The timeout the call had.
        after: Duration,
    },
    /// The call was cancelled before it settled.
    #[error("the call was cancelled")]
    Cancelled,
    /// The client was disposed: its pending calls and every later call fail with this.
    #[error("the client was disposed")]
    Disposed,
    /// The host restarted (a new epoch) while the call was in flight, so whether the call ran
    /// is unknown.
    #[error("the host restarted while the call was in flight; its outcome is unknown")]
    AuthorityChanged,
    /// The transport could not carry a message.
    #[error("transport error: {0}")]
    Transport(String),
    /// Bytes could not be decoded into a message.
    #[error("cannot decode a {codec} message: {reason}")]
    Decode {
        /// The codec that was used.
        codec: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A value could not be encoded (call arguments, a message, a module's state).
    #[error("cannot encode: {0}")]
    Encode(String),
    /// A connection's handshake failed: the host refused it (wrong protocol version or
    /// codec, a full host, failed authentication), or the other side is not a
    /// `stateloom-worker` peer.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// A call's result could not be read as the requested type.
    #[error("unexpected result: {0}")]
    UnexpectedResult(String),
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error as it travels from host to client: a stable `code` and a human-readable
/// `message`.
///
/// The host redacts the details of unexpected failures (a panic message, an argument decoding
/// error) unless it opts in with
/// [`WorkerAppBuilder::expose_error_details`](crate::WorkerAppBuilder::expose_error_details).
/// A method that fails on purpose returns a `RemoteError` of its own, which reaches the client
/// as it is.
///
/// Codes used by the host: `unknown-module`, `unknown-method`, `bad-arguments`, `panicked`,
/// `bad-result`; methods may use any other.
///
/// # Examples
/// ```
/// use stateloom_worker::RemoteError;
///
/// let error = RemoteError::new("insufficient-funds", "the balance is 3");
/// assert_eq!(serde_json::to_string(&error).unwrap(),
///            r#"{"code":"insufficient-funds","message":"the balance is 3"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    /// A stable, machine-readable code, such as `unknown-method`.
    pub code: String,
    /// A message for people.
    pub message: String,
}

impl RemoteError {
    /// An error with `code` and `message`.
    ///
    /// # Examples
    /// ```
    /// let error = stateloom_worker::RemoteError::new("empty", "nothing to pop");
    /// assert_eq!(error.code, "empty");
    /// ```
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RemoteError {}
