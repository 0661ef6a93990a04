//! Frames: a 4-byte big-endian length, then that many bytes of body. The body's first byte
//! says what kind of frame it is.
//!
//! Both directions of a connection are a sequence of frames. [`FrameDecoder`] cuts a byte
//! stream into frame bodies, refusing a length above its maximum before it buffers a byte of
//! such a frame; [`Frame::parse`] reads a body. Neither panics on any input.

use std::fmt;

/// The default largest frame body: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;

/// The protocol spoken on a byte stream. A host refuses a client of another version.
pub const PROTOCOL_VERSION: u16 = 1;

/// The first bytes of a client's hello.
pub(crate) const MAGIC: [u8; 4] = *b"SLWK";

/// What is wrong with bytes that should be frames.
///
/// # Examples
/// ```
/// use stateloom_worker::net::{FrameDecoder, FrameError};
///
/// let mut decoder = FrameDecoder::new(8);
/// decoder.push(&[0, 0, 1, 0]); // a 256-byte frame, over the 8-byte limit
/// assert_eq!(decoder.next_frame(), Err(FrameError::Oversized { len: 256, max: 8 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A length prefix above the maximum.
    #[error("a frame of {len} bytes is over the limit of {max}")]
    Oversized {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A frame with no body.
    #[error("an empty frame")]
    Empty,
    /// The stream ended inside a frame.
    #[error("the stream ended inside a frame ({missing} bytes missing)")]
    Truncated {
        /// How many bytes were still expected.
        missing: usize,
    },
    /// A body that is not a frame this protocol knows.
    #[error("a malformed frame: {0}")]
    Malformed(String),
}

/// Cuts a byte stream into frame bodies.
///
/// Feed it bytes as they arrive with [`push`](Self::push); take whole frames with
/// [`next_frame`](Self::next_frame). After an error the stream cannot be trusted: the
/// connection is dropped.
///
/// # Examples
/// ```
/// use stateloom_worker::net::FrameDecoder;
///
/// let mut decoder = FrameDecoder::new(1024);
/// decoder.push(&[0, 0, 0, 3, b'a']);
/// assert_eq!(decoder.next_frame(), Ok(None)); // two bytes missing
/// decoder.push(&[b'b', b'c', 0, 0]);
/// assert_eq!(decoder.next_frame(), Ok(Some(b"abc".to_vec())));
/// assert_eq!(decoder.next_frame(), Ok(None));
/// assert_eq!(decoder.finish(), Err(stateloom_worker::net::FrameError::Truncated { missing: 2 }));
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// Where the unread bytes of `buffer` start.
    start: usize,
    max: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frame bodies longer than `max` bytes.
    ///
    /// # Examples
    /// See [`FrameDecoder`].
    pub fn new(max: usize) -> Self {
        Self {
            buffer: Vec::new(),
            start: 0,
            max,
        }
    }

    /// Appends bytes read from the stream.
    ///
    /// # Examples
    /// See [`FrameDecoder`].
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buffer.len() / 2 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame body, or `None` if more bytes are needed.
    ///
    /// # Errors
    /// [`FrameError::Oversized`] for a length over the maximum, [`FrameError::Empty`] for a
    /// zero length.
    ///
    /// # Examples
    /// See [`FrameDecoder`].
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let unread = &self.buffer[self.start..];
        let Some(header) = unread.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > self.max {
            return Err(FrameError::Oversized {
                len: len as u64,
                max: self.max,
            });
        }
        if len == 0 {
            return Err(FrameError::Empty);
        }
        let Some(body) = unread.get(4..4 + len) else {
            return Ok(None);
        };
        let body = body.to_vec();
        self.start += 4 + len;
        Ok(Some(body))
    }

    /// Bytes received and not yet returned as a frame.
    ///
    /// # Examples
    /// ```
    /// let mut decoder = stateloom_worker::net::FrameDecoder::new(16);
    /// decoder.push(&[0, 0]);
    /// assert_eq!(decoder.buffered(), 2);
    /// ```
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Checks that the stream ended between frames.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] if part of a frame is buffered.
    ///
    /// # Examples
    /// See [`FrameDecoder`].
    pub fn finish(&self) -> Result<(), FrameError> {
        let unread = &self.buffer[self.start..];
        if unread.is_empty() {
            return Ok(());
        }
        // Saturating: whole frames not yet taken, or the bytes after a refused header, may be
        // buffered too.
        let missing = match unread.first_chunk::<4>() {
            Some(header) => (u32::from_be_bytes(*header) as usize)
                .saturating_add(4)
                .saturating_sub(unread.len()),
            None => 4 - unread.len(),
        };
        Err(FrameError::Truncated { missing })
    }
}

/// Appends the frame of `body` (its length, then `body`) to `out`.
///
/// # Errors
/// [`FrameError::Oversized`] if `body` is longer than `max`; [`FrameError::Empty`] if empty.
///
/// # Examples
/// ```
/// let mut out = Vec::new();
/// stateloom_worker::net::encode_frame(b"hi", 1024, &mut out).unwrap();
/// assert_eq!(out, [0, 0, 0, 2, b'h', b'i']);
/// ```
pub fn encode_frame(body: &[u8], max: usize, out: &mut Vec<u8>) -> Result<(), FrameError> {
    if body.is_empty() {
        return Err(FrameError::Empty);
    }
    if body.len() > max || u32::try_from(body.len()).is_err() {
        return Err(FrameError::Oversized {
            len: body.len() as u64,
            max,
        });
    }
    out.reserve(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    Ok(())
}

/// The codec a connection speaks, agreed in the handshake.
///
/// # Examples
/// ```
/// use stateloom_worker::net::WireCodec;
///
/// assert_eq!(WireCodec::Postcard.to_string(), "postcard");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireCodec {
    /// [`JsonCodec`](crate::JsonCodec): readable, for any peer.
    Json,
    /// [`PostcardCodec`](crate::PostcardCodec): compact, for Rust peers.
    Postcard,
}

impl WireCodec {
    pub(crate) fn id(self) -> u8 {
        match self {
            WireCodec::Json => 0,
            WireCodec::Postcard => 1,
        }
    }

    pub(crate) fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(WireCodec::Json),
            1 => Some(WireCodec::Postcard),
            _ => None,
        }
    }

    pub(crate) fn codec(self) -> &'static dyn crate::Codec {
        match self {
            WireCodec::Json => &crate::JsonCodec,
            WireCodec::Postcard => &crate::PostcardCodec,
        }
    }
}

impl fmt::Display for WireCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.codec().name())
    }
}

/// One frame body, read.
///
/// The handshake is `Hello` (client), `Challenge` (host), `Proof` (client, only when the host
/// has a secret) and `Welcome` (host), or `Refused` from the host at any step. Then the
/// client sends `Request`s, the host sends `Message`s, and both send `Ping` when idle. A
/// client that leaves for good says `Bye`.
///
/// # Examples
/// ```
/// use stateloom_worker::net::Frame;
///
/// let body = Frame::Request { ack: 3, message: b"{}" }.to_body();
/// assert_eq!(Frame::parse(&body), Ok(Frame::Request { ack: 3, message: b"{}" }));
/// assert!(Frame::parse(&[0x7f]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Client: who it is and what it speaks.
    Hello {
        /// The protocol version.
        version: u16,
        /// The codec id.
        codec: u8,
        /// The client's session, kept across reconnections.
        session: u128,
        /// A fresh random challenge for the host.
        nonce: [u8; 16],
    },
    /// Host: its protocol, its epoch (0 if not yet known), and a challenge.
    Challenge {
        /// The protocol version.
        version: u16,
        /// The host's epoch.
        epoch: u64,
        /// Whether the client must prove it knows the secret.
        auth: bool,
        /// A fresh random challenge for the client.
        nonce: [u8; 16],
    },
    /// Client: its answer to the host's challenge.
    Proof {
        /// HMAC-SHA256 of the challenge under the shared secret.
        mac: [u8; 32],
    },
    /// Host: accepted. Carries the host's own proof (zeros without a secret).
    Welcome {
        /// HMAC-SHA256 of the client's challenge under the shared secret.
        mac: [u8; 32],
        /// How many calls the client may have in flight.
        max_in_flight: u32,
        /// Whether the host still had the client's session: if not, the calls the client
        /// sent before are unknown to it.
        resumed: bool,
    },
    /// Host: not accepted, and why.
    Refused {
        /// Why.
        reason: String,
    },
    /// Client: one encoded [`Message`](crate::Message), and the lowest call id still waiting
    /// for its result.
    Request {
        /// Every call with a lower id has its result.
        ack: u64,
        /// The message, in the connection's codec.
        message: &'a [u8],
    },
    /// Host: one encoded [`Message`](crate::Message).
    Message {
        /// The message, in the connection's codec.
        message: &'a [u8],
    },
    /// Either side: still here.
    Ping,
    /// Client: leaving for good; the host may forget its session at once.
    Bye,
}

const HELLO: u8 = 1;
const CHALLENGE: u8 = 2;
const PROOF: u8 = 3;
const WELCOME: u8 = 4;
const REFUSED: u8 = 5;
const REQUEST: u8 = 16;
const MESSAGE: u8 = 17;
const PING: u8 = 32;
const BYE: u8 = 33;

/// Reads fixed-size fields off the front of a body.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FrameError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| FrameError::Malformed(format!("too short for its {what}")))?;
        self.0 = rest;
        Ok(*head)
    }

    fn end(self, kind: &str) -> Result<(), FrameError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Malformed(format!(
                "{} bytes after a {kind} frame",
                self.0.len()
            )))
        }
    }
}

impl<'a> Frame<'a> {
    /// Reads a frame body.
    ///
    /// # Errors
    /// [`FrameError::Malformed`] for an unknown kind, a wrong size or a bad field.
    ///
    /// # Examples
    /// See [`Frame`].
    pub fn parse(body: &'a [u8]) -> Result<Self, FrameError> {
        let Some((&kind, rest)) = body.split_first() else {
            return Err(FrameError::Empty);
        };
        let mut fields = Fields(rest);
        let frame = match kind {
            HELLO => {
                if fields.take::<4>("magic")? != MAGIC {
                    return Err(FrameError::Malformed("not a stateloom-worker hello".into()));
                }
                let frame = Frame::Hello {
                    version: u16::from_be_bytes(fields.take("version")?),
                    codec: fields.take::<1>("codec")?[0],
                    session: u128::from_be_bytes(fields.take("session")?),
                    nonce: fields.take("nonce")?,
                };
                fields.end("hello")?;
                frame
            }
            CHALLENGE => {
                let frame = Frame::Challenge {
                    version: u16::from_be_bytes(fields.take("version")?),
                    epoch: u64::from_be_bytes(fields.take("epoch")?),
                    auth: match fields.take::<1>("auth flag")?[0] {
                        0 => false,
                        1 => true,
                        other => {
                            return Err(FrameError::Malformed(format!("auth flag {other}")));
                        }
                    },
                    nonce: fields.take("nonce")?,
                };
                fields.end("challenge")?;
                frame
            }
            PROOF => {
                let frame = Frame::Proof {
                    mac: fields.take("mac")?,
                };
                fields.end("proof")?;
                frame
            }
            WELCOME => {
                let frame = Frame::Welcome {
                    mac: fields.take("mac")?,
                    max_in_flight: u32::from_be_bytes(fields.take("in-flight limit")?),
                    resumed: match fields.take::<1>("resumed flag")?[0] {
                        0 => false,
                        1 => true,
                        other => {
                            return Err(FrameError::Malformed(format!("resumed flag {other}")));
                        }
                    },
                };
                fields.end("welcome")?;
                frame
            }
            REFUSED => Frame::Refused {
                reason: String::from_utf8_lossy(rest).into_owned(),
            },
            REQUEST => {
                let ack = u64::from_be_bytes(fields.take("ack")?);
                if fields.0.is_empty() {
                    return Err(FrameError::Malformed("a request with no message".into()));
                }
                Frame::Request {
                    ack,
                    message: fields.0,
                }
            }
            MESSAGE => {
                if rest.is_empty() {
                    return Err(FrameError::Malformed(
                        "a message frame with no message".into(),
                    ));
                }
                Frame::Message { message: rest }
            }
            PING => {
                fields.end("ping")?;
                Frame::Ping
            }
            BYE => {
                fields.end("bye")?;
                Frame::Bye
            }
            other => return Err(FrameError::Malformed(format!("unknown frame kind {other}"))),
        };
        Ok(frame)
    }

    /// The body of this frame.
    ///
    /// # Examples
    /// See [`Frame`].
    pub fn to_body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Frame::Hello {
                version,
                codec,
                session,
                nonce,
            } => {
                body.push(HELLO);
                body.extend_from_slice(&MAGIC);
                body.extend_from_slice(&version.to_be_bytes());
                body.push(*codec);
                body.extend_from_slice(&session.to_be_bytes());
                body.extend_from_slice(nonce);
            }
            Frame::Challenge {
                version,
                epoch,
                auth,
                nonce,
            } => {
                body.push(CHALLENGE);
                body.extend_from_slice(&version.to_be_bytes());
                body.extend_from_slice(&epoch.to_be_bytes());
                body.push(u8::from(*auth));
                body.extend_from_slice(nonce);
            }
            Frame::Proof { mac } => {
                body.push(PROOF);
                body.extend_from_slice(mac);
            }
            Frame::Welcome {
                mac,
                max_in_flight,
                resumed,
            } => {
                body.push(WELCOME);
                body.extend_from_slice(mac);
                body.extend_from_slice(&max_in_flight.to_be_bytes());
                body.push(u8::from(*resumed));
            }
            Frame::Refused { reason } => {
                body.push(REFUSED);
                body.extend_from_slice(reason.as_bytes());
            }
            Frame::Request { ack, message } => {
                body.push(REQUEST);
                body.extend_from_slice(&ack.to_be_bytes());
                body.extend_from_slice(message);
            }
            Frame::Message { message } => {
                body.push(MESSAGE);
                body.extend_from_slice(message);
            }
            Frame::Ping => body.push(PING),
            Frame::Bye => body.push(BYE),
        }
        body
    }

    /// The whole frame (length prefix and body), for frames that are never near the limit.
    pub(crate) fn to_frame(&self) -> Vec<u8> {
        let body = self.to_body();
        let mut out = Vec::with_capacity(4 + body.len());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }
}

/// The frame of a host-to-client message already encoded by a codec.
pub(crate) fn message_frame(message: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(5 + message.len());
    let len = message.len() + 1;
    if len > max || u32::try_from(len).is_err() {
        return Err(FrameError::Oversized {
            len: len as u64,
            max,
        });
    }
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.push(MESSAGE);
    out.extend_from_slice(message);
    Ok(out)
}

/// The frame of a client-to-host request.
pub(crate) fn request_frame(ack: u64, message: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    let len = message.len() + 9;
    if len > max || u32::try_from(len).is_err() {
        return Err(FrameError::Oversized {
            len: len as u64,
            max,
        });
    }
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.push(REQUEST);
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}
