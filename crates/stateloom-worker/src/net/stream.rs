//! What a connection runs over: anything that reads and writes bytes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// The two halves of a byte stream and a way to close it from another thread.
///
/// # Examples
/// See [`ByteStream`].
pub struct StreamParts {
    /// Where the other side's bytes come from.
    pub reader: Box<dyn Read + Send>,
    /// Where this side's bytes go.
    pub writer: Box<dyn Write + Send>,
    /// Closes the stream, so that a thread blocked reading it returns.
    pub close: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for StreamParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamParts").finish_non_exhaustive()
    }
}

/// A byte stream a connection can run over: TCP, a Unix socket, or a pair of pipes (a child
/// process's stdout and stdin, see [`Pipe`]).
///
/// `into_parts` splits it into a reader, a writer and a closer, applying the timeouts where
/// the stream supports them: a read that waits longer than `read_timeout` fails, and so does
/// a write blocked longer than `write_timeout`. Both ends send a ping when idle, so a read
/// timeout longer than the keep-alive interval only fires when the other side is gone.
///
/// # Examples
/// A stream of your own, made of two in-memory halves:
/// ```
/// use std::io::{self, Cursor};
/// use std::time::Duration;
/// use stateloom_worker::net::{ByteStream, StreamParts};
///
/// struct Canned(Vec<u8>);
///
/// impl ByteStream for Canned {
///     fn into_parts(self, _read: Option<Duration>, _write: Option<Duration>) -> io::Result<StreamParts> {
///         Ok(StreamParts {
///             reader: Box::new(Cursor::new(self.0)),
///             writer: Box::new(io::sink()),
///             close: Box::new(|| {}),
///         })
///     }
/// }
///
/// let mut parts = Canned(b"abc".to_vec()).into_parts(None, None).unwrap();
/// let mut read = String::new();
/// parts.reader.read_to_string(&mut read).unwrap();
/// assert_eq!(read, "abc");
/// ```
pub trait ByteStream: Send + 'static {
    /// Splits the stream, with the given timeouts where supported.
    ///
    /// # Errors
    /// The I/O error of cloning the stream or setting its options.
    fn into_parts(
        self,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> io::Result<StreamParts>;
}

impl ByteStream for TcpStream {
    fn into_parts(
        self,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> io::Result<StreamParts> {
        // Small frames go out at once: calls and patches are latency-bound.
        self.set_nodelay(true)?;
        self.set_read_timeout(read_timeout)?;
        self.set_write_timeout(write_timeout)?;
        let reader = self.try_clone()?;
        let closer = self.try_clone()?;
        Ok(StreamParts {
            reader: Box::new(reader),
            writer: Box::new(self),
            close: Box::new(move || {
                let _ = closer.shutdown(Shutdown::Both);
            }),
        })
    }
}

#[cfg(unix)]
impl ByteStream for std::os::unix::net::UnixStream {
    fn into_parts(
        self,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> io::Result<StreamParts> {
        self.set_read_timeout(read_timeout)?;
        self.set_write_timeout(write_timeout)?;
        let reader = self.try_clone()?;
        let closer = self.try_clone()?;
        Ok(StreamParts {
            reader: Box::new(reader),
            writer: Box::new(self),
            close: Box::new(move || {
                let _ = closer.shutdown(Shutdown::Both);
            }),
        })
    }
}

/// A byte stream made of a separate reader and writer, such as a child process's stdout and
/// stdin, or this process's stdin and stdout. Pipes have no timeouts, and closing one from
/// another thread is not possible: the stream ends when the other side closes it.
///
/// # Examples
/// ```
/// use stateloom_worker::net::{ByteStream, Pipe};
///
/// let pipe = Pipe::new(std::io::empty(), std::io::sink());
/// let mut parts = pipe.into_parts(None, None).unwrap();
/// let mut buf = [0; 4];
/// assert_eq!(parts.reader.read(&mut buf).unwrap(), 0);
/// ```
#[derive(Debug)]
pub struct Pipe<R, W> {
    reader: R,
    writer: W,
}

impl<R, W> Pipe<R, W> {
    /// A stream that reads from `reader` and writes to `writer`.
    ///
    /// # Examples
    /// See [`Pipe`].
    pub fn new(reader: R, writer: W) -> Self {
        Self { reader, writer }
    }
}

impl<R, W> ByteStream for Pipe<R, W>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    fn into_parts(
        self,
        _read: Option<Duration>,
        _write: Option<Duration>,
    ) -> io::Result<StreamParts> {
        Ok(StreamParts {
            reader: Box::new(self.reader),
            writer: Box::new(self.writer),
            close: Box::new(|| {}),
        })
    }
}
