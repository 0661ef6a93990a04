//! One background thread that wakes futures at their deadlines, so a call's future times out
//! on any executor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;
use std::task::Waker;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

/// A waker due at an instant; ordered by the instant only.
struct Due(Instant, u64, Waker);

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

static TIMER: OnceLock<Option<Sender<(Instant, Waker)>>> = OnceLock::new();

/// Wakes `waker` after `delay`. Does nothing if the timer thread cannot be started (then a
/// pending call settles the next time its client is pumped).
pub(crate) fn wake_after(delay: Duration, waker: Waker) {
    let sender = TIMER.get_or_init(|| {
        let (sender, receiver) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("stateloom-worker-timer".into())
            .spawn(move || run(&receiver))
            .ok()
            .map(|_| sender)
    });
    if let Some(sender) = sender {
        let _ = sender.send((Instant::now() + delay, waker));
    }
}

fn run(receiver: &Receiver<(Instant, Waker)>) {
    let mut queue = BinaryHeap::new();
    let mut sequence = 0_u64;
    loop {
        let now = Instant::now();
        while queue.peek().is_some_and(|Reverse(Due(at, ..))| *at <= now) {
            if let Some(Reverse(Due(_, _, waker))) = queue.pop() {
                waker.wake();
            }
        }
        let next = match queue.peek() {
            Some(Reverse(Due(at, ..))) => receiver.recv_timeout(at.saturating_duration_since(now)),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok((at, waker)) => {
                sequence += 1;
                queue.push(Reverse(Due(at, sequence, waker)));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
