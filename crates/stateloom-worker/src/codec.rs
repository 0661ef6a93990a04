//! Turning messages into bytes and back: one trait, a JSON codec and a compact binary one.

use crate::error::{Error, Result};
use crate::message::Message;

/// Encodes [`Message`]s to bytes and decodes them back, for transports that carry bytes
/// (sockets, pipes, browser ports). Decoding never panics: bad bytes are an
/// [`Error::Decode`].
///
/// # Examples
/// ```
/// use stateloom_worker::{Codec, JsonCodec, Message, PostcardCodec, Ready};
///
/// let message = Message::Ready(Ready { epoch: 7, version: 2 });
/// for codec in [&JsonCodec as &dyn Codec, &PostcardCodec] {
///     let bytes = codec.encode(&message).unwrap();
///     assert_eq!(codec.decode(&bytes).unwrap(), message);
/// }
/// assert!(PostcardCodec.decode(&[0xff, 0xff]).is_err());
/// ```
pub trait Codec {
    /// The codec's name, for error messages.
    fn name(&self) -> &'static str;

    /// The bytes of `message`.
    ///
    /// # Errors
    /// [`Error::Encode`] if the message cannot be written (a non-finite number, say).
    fn encode(&self, message: &Message) -> Result<Vec<u8>>;

    /// The message in `bytes`.
    ///
    /// # Errors
    /// [`Error::Decode`] if `bytes` is not one whole message.
    fn decode(&self, bytes: &[u8]) -> Result<Message>;
}

/// The JSON form: readable, and what non-Rust peers speak. See [`Message`] for its shape.
///
/// # Examples
/// ```
/// use stateloom_worker::{Codec, JsonCodec, Message, SyncRequest};
///
/// let bytes = JsonCodec.encode(&Message::Sync(SyncRequest { id: 1, min_version: 0 })).unwrap();
/// assert_eq!(bytes, br#"{"type":"sync","id":1,"min_version":0}"#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn name(&self) -> &'static str {
        "json"
    }

    fn encode(&self, message: &Message) -> Result<Vec<u8>> {
        serde_json::to_vec(message).map_err(|e| Error::Encode(e.to_string()))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Message> {
        serde_json::from_slice(bytes).map_err(|e| Error::Decode {
            codec: self.name(),
            reason: e.to_string(),
        })
    }
}

/// The compact binary form, with [`postcard`]: variable-length integers and no field names.
/// For Rust peers.
///
/// # Examples
/// ```
/// use stateloom_worker::{Codec, JsonCodec, Message, PostcardCodec, Ready};
///
/// let message = Message::Ready(Ready { epoch: 7, version: 2 });
/// let binary = PostcardCodec.encode(&message).unwrap();
/// assert!(binary.len() < JsonCodec.encode(&message).unwrap().len());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PostcardCodec;

impl Codec for PostcardCodec {
    fn name(&self) -> &'static str {
        "postcard"
    }

    fn encode(&self, message: &Message) -> Result<Vec<u8>> {
        postcard::to_allocvec(message).map_err(|e| Error::Encode(e.to_string()))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Message> {
        let (message, rest) = postcard::take_from_bytes(bytes).map_err(|e| Error::Decode {
            codec: self.name(),
            reason: e.to_string(),
        })?;
        if rest.is_empty() {
            Ok(message)
        } else {
            Err(Error::Decode {
                codec: self.name(),
                reason: format!("{} bytes after the message", rest.len()),
            })
        }
    }
}
