//! The protocol: the five messages host and client exchange, with a JSON form and a compact
//! binary form from one set of serde types.

mod binary;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::RemoteError;

/// The id of a call (or of a sync request), chosen by the client that sends it.
pub type CallId = u64;

/// A host lifetime: a random number the host draws when it starts. A message from another
/// epoch comes from another lifetime of the host, whose versions mean nothing in this one.
pub type Epoch = u64;

/// The published state's version: 0 for the first snapshot, then one more for each published
/// change, without gaps.
pub type Version = u64;

/// One protocol message.
///
/// Its serde form depends on the format: human-readable formats (JSON) get an object tagged by
/// `"type"`, as in `{"type":"sync","id":1,"min_version":0}`; binary formats (postcard) get a
/// compact, untagged-by-name layout. [`JsonCodec`](crate::JsonCodec) and
/// [`PostcardCodec`](crate::PostcardCodec) encode and decode it.
///
/// # Examples
/// ```
/// use stateloom_worker::{Message, SyncRequest};
///
/// let message = Message::Sync(SyncRequest { id: 1, min_version: 0 });
/// let json = serde_json::to_string(&message).unwrap();
/// assert_eq!(json, r#"{"type":"sync","id":1,"min_version":0}"#);
/// assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), message);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Client to host: call a module's method.
    Call(Call),
    /// Host to client: the outcome of a call.
    Result(CallResult),
    /// Host to clients: a snapshot or a patch of the published state.
    State(StateUpdate),
    /// Client to host: send me a snapshot.
    Sync(SyncRequest),
    /// Host to clients: the host is up, at this epoch and version. Sent at startup and as a
    /// heartbeat, so a client that missed a change learns it is behind.
    Ready(Ready),
}

/// A call of `module.method(args)`.
///
/// # Examples
/// ```
/// use stateloom_worker::Call;
///
/// let call = Call { id: 7, module: "counter".into(), method: "increase".into(), args: serde_json::json!(2) };
/// assert_eq!(call.method, "increase");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Chosen by the caller; the result carries it back.
    pub id: CallId,
    /// The module's name.
    pub module: String,
    /// The method's name.
    pub method: String,
    /// The arguments, as the method expects them.
    #[serde(with = "binary::value")]
    pub args: Value,
}

/// The outcome of a [`Call`], tagged with the state version the host published after the
/// method ran: the client settles the call only once its mirror has reached that version.
///
/// # Examples
/// ```
/// use stateloom_worker::{CallResult, Outcome};
///
/// let result = CallResult { id: 7, epoch: 1, version: 3, outcome: Outcome::Ok(serde_json::json!(5)) };
/// assert!(matches!(result.outcome, Outcome::Ok(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallResult {
    /// The id of the call.
    pub id: CallId,
    /// The host's epoch.
    pub epoch: Epoch,
    /// The published version that includes the method's writes.
    pub version: Version,
    /// What the method returned.
    pub outcome: Outcome,
}

/// What a method returned: a value or an error.
///
/// # Examples
/// ```
/// use stateloom_worker::{Outcome, RemoteError};
///
/// let outcome = Outcome::Error(RemoteError::new("unknown-method", "no method `fly`"));
/// assert_eq!(serde_json::to_string(&outcome).unwrap(),
///            r#"{"error":{"code":"unknown-method","message":"no method `fly`"}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The method's return value.
    Ok(#[serde(with = "binary::value")] Value),
    /// The method failed, or could not be called.
    Error(RemoteError),
}

/// A publication of the host's state (its published sections only).
///
/// # Examples
/// ```
/// use stateloom_worker::{Payload, StateUpdate};
///
/// let update = StateUpdate {
///     epoch: 1,
///     version: 0,
///     payload: Payload::Snapshot(serde_json::json!({"counter": {"count": 0}})),
///     sync_id: None,
/// };
/// assert!(update.payload.is_snapshot());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateUpdate {
    /// The host's epoch.
    pub epoch: Epoch,
    /// The version this message brings the mirror to.
    pub version: Version,
    /// The whole published state, or a patch from `version - 1`.
    pub payload: Payload,
    /// Set when this snapshot answers a [`SyncRequest`]: its id.
    pub sync_id: Option<CallId>,
}

/// The body of a [`StateUpdate`].
///
/// # Examples
/// ```
/// use stateloom_worker::Payload;
///
/// let patch: json_patch::Patch = serde_json::from_value(serde_json::json!([
///     {"op": "replace", "path": "/counter/count", "value": 1}
/// ])).unwrap();
/// assert!(!Payload::Patch(patch).is_snapshot());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// The whole published state: an object with one entry per published module.
    Snapshot(#[serde(with = "binary::value")] Value),
    /// RFC 6902 operations turning version `n - 1` into version `n`, applied atomically.
    Patch(#[serde(with = "binary::patch")] json_patch::Patch),
}

impl Payload {
    /// Whether this is a snapshot.
    ///
    /// # Examples
    /// See [`Payload`].
    pub fn is_snapshot(&self) -> bool {
        matches!(self, Payload::Snapshot(_))
    }
}

/// A client's request for a snapshot of at least `min_version`; the host answers with a
/// [`StateUpdate`] whose `sync_id` is `id`.
///
/// # Examples
/// ```
/// let request = stateloom_worker::SyncRequest { id: 3, min_version: 2 };
/// assert_eq!(request.min_version, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Chosen by the client; the reply carries it back.
    pub id: CallId,
    /// The version the client knows exists.
    pub min_version: Version,
}

/// The host's announcement of its epoch and current version.
///
/// # Examples
/// ```
/// let ready = stateloom_worker::Ready { epoch: 9, version: 4 };
/// assert_eq!(ready.version, 4);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The host's epoch.
    pub epoch: Epoch,
    /// The host's current published version.
    pub version: Version,
}

/// The JSON form: tagged by `"type"`, borrowing the message.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonRef<'a> {
    Call(&'a Call),
    Result(&'a CallResult),
    State(&'a StateUpdate),
    Sync(&'a SyncRequest),
    Ready(&'a Ready),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonOwned {
    Call(Call),
    Result(CallResult),
    State(StateUpdate),
    Sync(SyncRequest),
    Ready(Ready),
}

/// The binary form: externally tagged by variant index, which formats without field names
/// (postcard) can read back.
#[derive(Serialize)]
enum BinaryRef<'a> {
    Call(&'a Call),
    Result(&'a CallResult),
    State(&'a StateUpdate),
    Sync(&'a SyncRequest),
    Ready(&'a Ready),
}

#[derive(Deserialize)]
enum BinaryOwned {
    Call(Call),
    Result(CallResult),
    State(StateUpdate),
    Sync(SyncRequest),
    Ready(Ready),
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            match self {
                Message::Call(m) => JsonRef::Call(m),
                Message::Result(m) => JsonRef::Result(m),
                Message::State(m) => JsonRef::State(m),
                Message::Sync(m) => JsonRef::Sync(m),
                Message::Ready(m) => JsonRef::Ready(m),
            }
            .serialize(serializer)
        } else {
            match self {
                Message::Call(m) => BinaryRef::Call(m),
                Message::Result(m) => BinaryRef::Result(m),
                Message::State(m) => BinaryRef::State(m),
                Message::Sync(m) => BinaryRef::Sync(m),
                Message::Ready(m) => BinaryRef::Ready(m),
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            Ok(match JsonOwned::deserialize(deserializer)? {
                JsonOwned::Call(m) => Message::Call(m),
                JsonOwned::Result(m) => Message::Result(m),
                JsonOwned::State(m) => Message::State(m),
                JsonOwned::Sync(m) => Message::Sync(m),
                JsonOwned::Ready(m) => Message::Ready(m),
            })
        } else {
            Ok(match BinaryOwned::deserialize(deserializer)? {
                BinaryOwned::Call(m) => Message::Call(m),
                BinaryOwned::Result(m) => Message::Result(m),
                BinaryOwned::State(m) => Message::State(m),
                BinaryOwned::Sync(m) => Message::Sync(m),
                BinaryOwned::Ready(m) => Message::Ready(m),
            })
        }
    }
}
