//! A transport wrapper that drops, duplicates, delays and reorders messages, for tests.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::Result;
use crate::message::Message;
use crate::transport::{Inbox, Transport};

/// What [`FaultTransport`] does with one posted message.
///
/// # Examples
/// See [`FaultTransport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Send it on.
    Deliver,
    /// Lose it.
    Drop,
    /// Send it twice.
    Duplicate,
    /// Keep it until [`FaultTransport::release_held`] (a delay; releasing held messages in
    /// another order reorders them).
    Hold,
}

/// Wraps a transport and applies a plan to every message posted through it: deliver, drop,
/// duplicate or hold. Clones share the wrapped transport, the plan and the held messages, so
/// a test keeps one clone to steer the one it gave to a host or client.
///
/// # Examples
/// ```
/// use stateloom_worker::{Fault, FaultTransport, Message, memory_pair};
///
/// let (host_side, client_side) = memory_pair();
/// let faulty = FaultTransport::new(host_side);
/// // Hold every state message, deliver the rest.
/// faulty.set_plan(|m| if matches!(m, Message::State(_)) { Fault::Hold } else { Fault::Deliver });
/// # let _ = client_side;
/// assert_eq!(faulty.held(), 0);
/// faulty.release_held().unwrap();
/// ```
pub struct FaultTransport<T> {
    shared: Arc<Shared<T>>,
}

type Plan = Box<dyn FnMut(&Message) -> Fault + Send>;

struct Shared<T> {
    inner: T,
    state: Mutex<FaultState>,
}

struct FaultState {
    plan: Option<Plan>,
    held: Vec<Message>,
}

impl<T: Transport> FaultTransport<T> {
    /// Wraps `inner`, delivering everything until a plan is set.
    ///
    /// # Examples
    /// See [`FaultTransport`].
    pub fn new(inner: T) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                state: Mutex::new(FaultState {
                    plan: None,
                    held: Vec::new(),
                }),
            }),
        }
    }

    /// Decides each later message's fate with `plan`.
    ///
    /// # Examples
    /// See [`FaultTransport`].
    pub fn set_plan(&self, plan: impl FnMut(&Message) -> Fault + Send + 'static) {
        self.state().plan = Some(Box::new(plan));
    }

    /// Delivers every later message.
    ///
    /// # Examples
    /// ```
    /// # use stateloom_worker::{Fault, FaultTransport, memory_pair};
    /// let (a, _b) = memory_pair();
    /// let faulty = FaultTransport::new(a);
    /// faulty.set_plan(|_| Fault::Drop);
    /// faulty.clear_plan();
    /// ```
    pub fn clear_plan(&self) {
        self.state().plan = None;
    }

    /// How many messages are held.
    ///
    /// # Examples
    /// See [`FaultTransport`].
    pub fn held(&self) -> usize {
        self.state().held.len()
    }

    /// Sends the held messages on, oldest first. Returns how many there were.
    ///
    /// # Errors
    /// The first error of the wrapped transport; the messages after it stay held.
    ///
    /// # Examples
    /// See [`FaultTransport`].
    pub fn release_held(&self) -> Result<usize> {
        self.release(false)
    }

    /// Sends the held messages on, newest first: a reordering. Returns how many there were.
    ///
    /// # Errors
    /// As [`release_held`](Self::release_held).
    ///
    /// # Examples
    /// ```
    /// # use stateloom_worker::{FaultTransport, memory_pair};
    /// let (a, _b) = memory_pair();
    /// let faulty = FaultTransport::new(a);
    /// assert_eq!(faulty.release_held_reversed().unwrap(), 0);
    /// ```
    pub fn release_held_reversed(&self) -> Result<usize> {
        self.release(true)
    }

    fn release(&self, reversed: bool) -> Result<usize> {
        let mut held = std::mem::take(&mut self.state().held);
        if reversed {
            held.reverse();
        }
        let count = held.len();
        let mut messages = held.into_iter();
        for message in messages.by_ref() {
            if let Err(error) = self.shared.inner.post(message) {
                self.state().held.extend(messages);
                return Err(error);
            }
        }
        Ok(count)
    }

    fn state(&self) -> MutexGuard<'_, FaultState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Transport> Transport for FaultTransport<T> {
    fn post(&self, message: Message) -> Result<()> {
        let fault = {
            let mut state = self.state();
            let fault = state
                .plan
                .as_mut()
                .map_or(Fault::Deliver, |plan| plan(&message));
            if fault == Fault::Hold {
                state.held.push(message);
                return Ok(());
            }
            fault
        };
        match fault {
            Fault::Deliver => self.shared.inner.post(message),
            Fault::Drop | Fault::Hold => Ok(()),
            Fault::Duplicate => {
                self.shared.inner.post(message.clone())?;
                self.shared.inner.post(message)
            }
        }
    }

    fn subscribe(&self, inbox: Inbox) {
        self.shared.inner.subscribe(inbox);
    }
}

impl<T> Clone for FaultTransport<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> std::fmt::Debug for FaultTransport<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultTransport").finish_non_exhaustive()
    }
}
