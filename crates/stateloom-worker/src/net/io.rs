//! Reading frames off a blocking reader.

use std::io::{self, Read};

use super::frame::{FrameDecoder, FrameError};

/// Why a connection's reader stopped.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(io::Error),
    Frame(FrameError),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) if is_timeout(e) => {
                f.write_str("nothing received within the read timeout")
            }
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Frame(e) => write!(f, "{e}"),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Frames from a blocking reader, through a [`FrameDecoder`].
pub(crate) struct FrameReader {
    reader: Box<dyn Read + Send>,
    decoder: FrameDecoder,
    chunk: Vec<u8>,
}

impl FrameReader {
    pub(crate) fn new(reader: Box<dyn Read + Send>, max_frame: usize) -> Self {
        Self {
            reader,
            decoder: FrameDecoder::new(max_frame),
            chunk: vec![0; 64 * 1024],
        }
    }

    /// The next frame body; `Ok(None)` when the stream ended between frames.
    pub(crate) fn next(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        loop {
            if let Some(body) = self.decoder.next_frame().map_err(ReadError::Frame)? {
                return Ok(Some(body));
            }
            let n = loop {
                match self.reader.read(&mut self.chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(ReadError::Io(e)),
                }
            };
            if n == 0 {
                return match self.decoder.finish() {
                    Ok(()) => Ok(None),
                    Err(e) => Err(ReadError::Frame(e)),
                };
            }
            self.decoder.push(&self.chunk[..n]);
        }
    }
}
