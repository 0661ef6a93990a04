//! Hosts and clients in other processes and on other machines, over byte streams: TCP, Unix
//! sockets, or a child process's pipes.
//!
//! A [`NetHost`] is the transport of a [`WorkerApp`](crate::WorkerApp) that serves many
//! connections; a [`NetClient`] is the transport of a [`WorkerClient`](crate::WorkerClient)
//! that connects to one.
//!
//! # The wire
//! Each direction is a sequence of frames: a 4-byte big-endian length, then a body whose first
//! byte is its kind ([`Frame`]). Frames longer than the configured maximum are refused before
//! they are buffered. A connection starts with a handshake:
//!
//! ```text
//! client                                   host
//!   | hello: version, codec, session, nonce  |
//!   |--------------------------------------->|
//!   |   challenge: version, epoch, nonce     |
//!   |<---------------------------------------|
//!   | proof: HMAC(secret, both nonces)       |   (only when the host has a secret)
//!   |--------------------------------------->|
//!   |   welcome: HMAC(secret, ...) of host   |   (or refused: reason)
//!   |<---------------------------------------|
//!   | requests (call, sync) + acknowledgement|
//!   |--------------------------------------->|
//!   |   messages (snapshot, patches, results)|
//!   |<---------------------------------------|
//! ```
//!
//! Messages are the crate's [`Message`](crate::Message)s in the codec agreed by the
//! handshake: JSON ([`WireCodec::Json`]) or postcard ([`WireCodec::Postcard`]).
//!
//! # Examples
//! See [`NetHost`].

mod auth;
mod client;
mod frame;
mod host;
mod io;
mod stream;

pub use client::{NetClient, NetClientBuilder, NetClientHandle, NetClientStats};
pub use frame::{
    DEFAULT_MAX_FRAME, Frame, FrameDecoder, FrameError, PROTOCOL_VERSION, WireCodec, encode_frame,
};
pub use host::{Listening, NetHost, NetHostBuilder, NetHostStats};
pub use stream::{ByteStream, Pipe, StreamParts};
