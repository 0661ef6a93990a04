//! One NATS connection driven by a single-threaded tokio runtime on a thread of its own:
//! posting queues a command for it, subscriptions hand each message to a callback there.

use std::time::Duration;

use async_nats::ConnectOptions;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::NatsStats;
use crate::error::{Error, Result};

/// Called on the connection's thread with each message of a subscription; `false` ends the
/// subscription (its owner is gone).
pub(super) type OnMessage = Box<dyn FnMut(async_nats::Message) -> bool + Send>;

/// Called on the connection's thread when a subscription ends because the connection closed.
pub(super) type OnClose = Box<dyn FnOnce() + Send>;

/// How long a confirmed subscription waits for the server's answer.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// How long dropping a link waits for what was posted to reach the server.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// A connection and the thread that drives it.
///
/// # Invariants
/// The driver thread runs until `commands` is dropped; it then sends what is queued, flushes
/// and signals `done`. `commands` is `Some` until the link is dropped.
pub(super) struct Link {
    commands: Option<mpsc::UnboundedSender<Command>>,
    done: crossbeam_channel::Receiver<()>,
    inbox_subject: String,
    pub(super) stats: NatsStats,
}

enum Command {
    Publish {
        subject: String,
        reply: Option<String>,
        payload: Vec<u8>,
    },
    Subscribe {
        subject: String,
        on_message: OnMessage,
        on_close: OnClose,
        /// Told once the server has the subscription, if set.
        confirm: Option<crossbeam_channel::Sender<()>>,
    },
}

impl Link {
    /// Connects to `url`, blocking until the server accepted the connection or the options'
    /// connection timeout passed, on a new thread named after `side` that then drives the
    /// connection. Connecting on that thread, not the caller's, lets the caller be inside an
    /// async runtime of its own.
    pub(super) fn connect(url: &str, options: ConnectOptions, side: &str) -> Result<Link> {
        let url = url.to_owned();
        let (commands, receiver) = mpsc::unbounded_channel();
        let (connected, connecting) = crossbeam_channel::bounded(1);
        let (finished, done) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name(format!("stateloom-nats-{side}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = connected.send(Err(Error::Transport(format!(
                            "cannot start the NATS runtime: {e}"
                        ))));
                        return;
                    }
                };
                let client = match runtime.block_on(options.connect(url.as_str())) {
                    Ok(client) => client,
                    Err(e) => {
                        let _ = connected.send(Err(Error::Transport(format!(
                            "cannot connect to NATS at {url}: {e}"
                        ))));
                        return;
                    }
                };
                let _ = connected.send(Ok(client.new_inbox()));
                runtime.block_on(drive(client, receiver));
                let _ = finished.send(());
            })
            .map_err(|e| Error::Transport(format!("cannot start the NATS thread: {e}")))?;
        let inbox_subject = connecting.recv().map_err(|_| {
            Error::Transport("the NATS connection's thread stopped while connecting".into())
        })??;
        Ok(Link {
            commands: Some(commands),
            done,
            inbox_subject,
            stats: NatsStats::new(),
        })
    }

    /// A subject unique to this connection, for replies.
    pub(super) fn new_inbox(&self) -> String {
        self.inbox_subject.clone()
    }

    /// Queues a message for the server; never waits for the network.
    pub(super) fn publish(
        &self,
        subject: String,
        reply: Option<String>,
        payload: Vec<u8>,
    ) -> Result<()> {
        let sent = self.commands.as_ref().map(|commands| {
            commands.send(Command::Publish {
                subject,
                reply,
                payload,
            })
        });
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(Error::Transport(
                "the NATS connection's thread has stopped".into(),
            )),
        }
    }

    /// Subscribes to `subject`: the driver thread calls `on_message` with each message, and
    /// `on_close` if the connection closes for good. With `confirm`, waits (up to
    /// [`CONFIRM_TIMEOUT`]) until the server has the subscription, so that messages other
    /// connections publish from then on reach it.
    pub(super) fn subscribe(
        &self,
        subject: String,
        on_message: OnMessage,
        on_close: OnClose,
        confirm: bool,
    ) {
        let (confirmed, wait) = crossbeam_channel::bounded(1);
        let command = Command::Subscribe {
            subject,
            on_message,
            on_close,
            confirm: confirm.then_some(confirmed),
        };
        let refused = match &self.commands {
            Some(commands) => commands.send(command).err().map(|e| e.0),
            None => Some(command),
        };
        if let Some(Command::Subscribe { on_close, .. }) = refused {
            on_close();
        } else if confirm {
            let _ = wait.recv_timeout(CONFIRM_TIMEOUT + Duration::from_millis(500));
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing the command channel stops the driver once it has sent what is queued.
        drop(self.commands.take());
        let _ = self
            .done
            .recv_timeout(FLUSH_TIMEOUT + Duration::from_millis(500));
    }
}

/// Runs the commands in order, so a subscription made before a publish is in place on the
/// server before the publish reaches it (a request's answer cannot outrun the subscription
/// to its reply subject).
async fn drive(client: async_nats::Client, mut commands: mpsc::UnboundedReceiver<Command>) {
    while let Some(command) = commands.recv().await {
        match command {
            Command::Publish {
                subject,
                reply,
                payload,
            } => {
                // A failed publish is a lost message: the protocol's versions find it.
                let _ = match reply {
                    Some(reply) => {
                        client
                            .publish_with_reply(subject, reply, payload.into())
                            .await
                    }
                    None => client.publish(subject, payload.into()).await,
                };
            }
            Command::Subscribe {
                subject,
                mut on_message,
                on_close,
                confirm,
            } => {
                match client.subscribe(subject).await {
                    Ok(mut subscriber) => {
                        tokio::spawn(async move {
                            while let Some(message) = subscriber.next().await {
                                if !on_message(message) {
                                    return;
                                }
                            }
                            on_close();
                        });
                    }
                    Err(_) => on_close(),
                }
                if let Some(confirm) = confirm {
                    // The server handles a connection's commands in order: once it answers a
                    // request sent after the subscription (with "no responders", as nobody
                    // listens on a fresh inbox), it has the subscription.
                    let probe = client.new_inbox();
                    let _ = tokio::time::timeout(
                        CONFIRM_TIMEOUT,
                        client.request(probe, Vec::new().into()),
                    )
                    .await;
                    let _ = confirm.send(());
                }
            }
        }
    }
    let _ = tokio::time::timeout(FLUSH_TIMEOUT, client.flush()).await;
}
