//! The thread transport: a host on a thread of its own, and the client side handed back.

use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::host::WorkerApp;
use crate::transport::memory::{MemoryTransport, memory_pair};

/// The thread a host runs on, started by [`spawn_worker`].
///
/// # Examples
/// See [`spawn_worker`].
#[derive(Debug)]
pub struct WorkerThread {
    handle: JoinHandle<()>,
}

impl WorkerThread {
    /// Waits for the host to stop. It stops when the client side is dropped (a client's
    /// [`dispose`](crate::WorkerClient::dispose) drops it) or when the host is disposed.
    ///
    /// # Errors
    /// [`Error::Transport`] if the host thread panicked (outside a method: method panics are
    /// caught and answered).
    ///
    /// # Examples
    /// See [`spawn_worker`].
    pub fn join(self) -> Result<()> {
        self.handle
            .join()
            .map_err(|_| Error::Transport("the worker thread panicked".into()))
    }

    /// Whether the host thread has stopped.
    ///
    /// # Examples
    /// See [`spawn_worker`].
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Runs a host on a new thread and returns the client side of its transport.
///
/// `build` runs on the new thread: stores are not `Send`, so the host's modules are created
/// there. The thread then [`run`](WorkerApp::run)s the host until the client side is dropped.
/// Messages travel over `crossbeam-channel` queues, as values.
///
/// # Errors
/// [`Error::Transport`] if the thread cannot be started.
///
/// # Examples
/// ```
/// use stateloom_store::Store;
/// use stateloom_worker::{Module, WorkerApp, WorkerClient, spawn_worker};
///
/// let (transport, thread) = spawn_worker(|transport| {
///     let store = Store::new(0_i64);
///     WorkerApp::builder()
///         .module(Module::new("count", store).method("add", |s, n: i64| {
///             s.update(move |c| *c += n);
///             s.get_state()
///         }))
///         .build(transport)
/// })
/// .unwrap();
/// let client = WorkerClient::new(transport);
/// assert_eq!(client.call("count", "add", 5).wait().unwrap(), 5);
/// assert_eq!(client.get_state()["count"], 5);
/// client.dispose();
/// thread.join().unwrap();
/// ```
pub fn spawn_worker<F>(build: F) -> Result<(MemoryTransport, WorkerThread)>
where
    F: FnOnce(MemoryTransport) -> WorkerApp + Send + 'static,
{
    let (host, client) = memory_pair();
    let handle = std::thread::Builder::new()
        .name("stateloom-worker".into())
        .spawn(move || build(host).run())
        .map_err(|e| Error::Transport(format!("cannot start the worker thread: {e}")))?;
    Ok((client, WorkerThread { handle }))
}
