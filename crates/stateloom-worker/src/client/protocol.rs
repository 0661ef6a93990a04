//! How the client handles messages: ordering by epoch and version, conflicts and recovery,
//! and settling calls once the mirror has caught up.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;

use super::call::Slot;
use super::{ClientInner, Conflict, ConflictReason};
use crate::error::{Error, Result};
use crate::message::{
    CallId, CallResult, Epoch, Message, Outcome, Payload, Ready, StateUpdate, Version,
};
use crate::transport::Delivery;

/// A call sent and not yet settled.
pub(super) struct Pending {
    pub(super) slot: Rc<Slot>,
    pub(super) timeout: Option<Duration>,
    /// By the client's clock.
    pub(super) deadline: Option<Duration>,
    /// The mirror's epoch when the call was sent.
    pub(super) epoch: Option<Epoch>,
    /// The result, once it arrived, with when.
    pub(super) result: Option<Arrived>,
}

pub(super) struct Arrived {
    result: CallResult,
    at: Duration,
    /// A snapshot was asked for on its behalf.
    resynced: bool,
}

/// An outstanding snapshot request.
pub(super) struct SyncState {
    pub(super) id: CallId,
    pub(super) min_version: Version,
    pub(super) sent: Duration,
}

impl ClientInner {
    pub(super) fn handle(&self, delivery: Delivery) {
        match delivery {
            Delivery::Message(Message::State(update)) => self.on_state(update),
            Delivery::Message(Message::Result(result)) => self.on_result(result),
            Delivery::Message(Message::Ready(ready)) => self.on_ready(&ready),
            // Requests from other peers on a shared channel are not for a client.
            Delivery::Message(Message::Call(_) | Message::Sync(_)) => {}
            Delivery::Closed => {
                self.closed.set(true);
                self.fail_all(|| Error::Transport("the host side of the transport closed".into()));
            }
        }
    }

    fn on_state(&self, update: StateUpdate) {
        let current = self.version.get();
        let same_epoch = self.epoch.get() == Some(update.epoch);
        match update.payload {
            Payload::Snapshot(state) => {
                let newer = !self.ready.get() || !same_epoch || update.version > current;
                if newer {
                    if !state.is_object() {
                        self.conflict(
                            ConflictReason::PatchApplyFailed,
                            update.version,
                            Some("a snapshot that is not an object".into()),
                        );
                        self.request_sync(update.version);
                        return;
                    }
                    self.apply_snapshot(update.epoch, update.version, state, update.sync_id);
                } else if update.sync_id.is_none() && !self.is_covered(update.version) {
                    self.conflict(ConflictReason::StaleMessage, update.version, None);
                }
            }
            Payload::Patch(patch) => {
                if !self.ready.get() {
                    self.conflict(ConflictReason::MissingSnapshot, update.version, None);
                    self.request_sync(update.version);
                } else if !same_epoch {
                    self.conflict(ConflictReason::NewEpoch, update.version, None);
                    self.request_sync(update.version);
                } else if update.version <= current {
                    if !self.is_covered(update.version) {
                        self.conflict(ConflictReason::StaleMessage, update.version, None);
                    }
                } else if update.version > current + 1 {
                    self.conflict(ConflictReason::VersionGap, update.version, None);
                    self.request_sync(update.version);
                } else {
                    // Bound first: the mirror must not be borrowed while effects run.
                    let applied = apply_patch(&mut self.mirror.borrow_mut(), &patch);
                    match applied {
                        Ok(()) => {
                            self.version.set(update.version);
                            self.notify();
                            self.settle_caught_up();
                        }
                        Err(detail) => {
                            self.conflict(
                                ConflictReason::PatchApplyFailed,
                                update.version,
                                Some(detail),
                            );
                            self.request_sync(update.version);
                        }
                    }
                }
            }
        }
    }

    fn is_covered(&self, version: Version) -> bool {
        self.covered.get().is_some_and(|covered| version <= covered)
    }

    fn apply_snapshot(
        &self,
        epoch: Epoch,
        version: Version,
        state: Value,
        sync_id: Option<CallId>,
    ) {
        let previous = self.epoch.replace(Some(epoch));
        self.version.set(version);
        if sync_id.is_some() {
            // Everything up to here was asked for: older messages are no news.
            self.covered.set(Some(version));
        }
        self.ready.set(true);
        *self.mirror.borrow_mut() = state;
        let answered = self
            .sync
            .borrow()
            .as_ref()
            .is_some_and(|sync| version >= sync.min_version || sync_id == Some(sync.id));
        if answered || previous.is_some_and(|p| p != epoch) {
            self.sync.borrow_mut().take();
        }
        if let Some(previous) = previous.filter(|p| *p != epoch) {
            // Calls sent to the previous host lifetime will never be answered by it.
            let lost: Vec<CallId> = self
                .pending
                .borrow()
                .iter()
                .filter(|(_, p)| p.epoch == Some(previous))
                .map(|(id, _)| *id)
                .collect();
            for id in lost {
                self.settle(id, Err(Error::AuthorityChanged));
            }
        }
        self.notify();
        self.settle_caught_up();
    }

    /// Tells the reactive graph the mirror changed. A panic in user code run by it (an effect,
    /// a selector) is kept and resumed at the end of the pump, after the message is handled.
    fn notify(&self) {
        let revision = self.revision;
        let caught = catch_unwind(AssertUnwindSafe(|| revision.update(|r| *r += 1)));
        if let Err(payload) = caught {
            self.panic.borrow_mut().get_or_insert(payload);
        }
    }

    pub(super) fn resume_panic(&self) {
        let payload = self.panic.borrow_mut().take();
        if let Some(payload) = payload {
            std::panic::resume_unwind(payload);
        }
    }

    fn on_result(&self, result: CallResult) {
        let id = result.id;
        let superseded = {
            let mut pending = self.pending.borrow_mut();
            let Some(call) = pending.get_mut(&id) else {
                // Cancelled, timed out, or not ours.
                return;
            };
            if call.epoch.is_some_and(|e| e != result.epoch) {
                true
            } else {
                call.result = Some(Arrived {
                    result,
                    at: self.clock.now(),
                    resynced: false,
                });
                false
            }
        };
        if superseded {
            self.settle(id, Err(Error::AuthorityChanged));
        } else {
            self.try_settle(id);
        }
    }

    /// Settles call `id` if the mirror has reached its result's version; if the result comes
    /// from a host lifetime the mirror has not seen, asks for a snapshot at once.
    fn try_settle(&self, id: CallId) {
        let (epoch, version) = {
            let pending = self.pending.borrow();
            let Some(Arrived { result, .. }) = pending.get(&id).and_then(|p| p.result.as_ref())
            else {
                return;
            };
            (result.epoch, result.version)
        };
        if self.ready.get() && self.epoch.get() == Some(epoch) {
            if self.version.get() >= version {
                let outcome = self
                    .pending
                    .borrow_mut()
                    .get_mut(&id)
                    .and_then(|p| p.result.take())
                    .map(|arrived| arrived.result.outcome);
                if let Some(outcome) = outcome {
                    self.settle(
                        id,
                        match outcome {
                            Outcome::Ok(value) => Ok(value),
                            Outcome::Error(error) => Err(Error::Remote(error)),
                        },
                    );
                }
            }
            // Otherwise the state message is probably on its way: wait `catch_up`.
        } else {
            self.mark_resynced(id);
            self.request_sync(version);
        }
    }

    fn settle_caught_up(&self) {
        let waiting: Vec<CallId> = self
            .pending
            .borrow()
            .iter()
            .filter(|(_, p)| p.result.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.try_settle(id);
        }
    }

    fn mark_resynced(&self, id: CallId) {
        if let Some(arrived) = self
            .pending
            .borrow_mut()
            .get_mut(&id)
            .and_then(|p| p.result.as_mut())
        {
            arrived.resynced = true;
        }
    }

    fn on_ready(&self, ready: &Ready) {
        let behind = !self.ready.get()
            || self.epoch.get() != Some(ready.epoch)
            || ready.version > self.version.get();
        if behind {
            self.request_sync(ready.version);
        }
    }

    /// Settles call `id` with `outcome`, if it is pending.
    pub(super) fn settle(&self, id: CallId, outcome: Result<Value>) {
        let call = self.pending.borrow_mut().remove(&id);
        if let Some(call) = call {
            call.slot.settle(outcome);
        }
    }

    pub(super) fn fail_all(&self, error: impl Fn() -> Error) {
        let calls: Vec<_> = self.pending.borrow_mut().drain().collect();
        for (_, call) in calls {
            call.slot.settle(Err(error()));
        }
    }

    /// Fails calls past their timeout, asks for snapshots for results that waited long
    /// enough, and asks again when a snapshot request went unanswered.
    pub(super) fn check_timers(&self) {
        let now = self.clock.now();
        let mut expired = Vec::new();
        let mut resync = Vec::new();
        for (id, call) in self.pending.borrow().iter() {
            if call.deadline.is_some_and(|d| now >= d) {
                expired.push((*id, call.timeout.unwrap_or_default()));
            } else if let Some(arrived) = &call.result
                && !arrived.resynced
                && now >= arrived.at.saturating_add(self.options.catch_up)
            {
                resync.push((*id, arrived.result.version));
            }
        }
        for (id, after) in expired {
            self.settle(id, Err(Error::Timeout { after }));
        }
        for (id, version) in resync {
            self.mark_resynced(id);
            self.request_sync(version);
        }
        let retry = self.sync.borrow().as_ref().and_then(|sync| {
            (now >= sync.sent.saturating_add(self.options.resync_retry)).then_some(sync.min_version)
        });
        if let Some(min_version) = retry {
            self.request_sync(min_version);
        }
    }

    /// The next time [`check_timers`](Self::check_timers) has something to do.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        let pending = self.pending.borrow();
        let calls = pending.values().flat_map(|call| {
            let catch_up = call
                .result
                .as_ref()
                .filter(|a| !a.resynced)
                .map(|a| a.at.saturating_add(self.options.catch_up));
            [call.deadline, catch_up]
        });
        let sync = self
            .sync
            .borrow()
            .as_ref()
            .map(|sync| sync.sent.saturating_add(self.options.resync_retry));
        calls.chain([sync]).flatten().min()
    }

    fn conflict(&self, reason: ConflictReason, incoming_version: Version, detail: Option<String>) {
        if let Some(on_conflict) = &self.on_conflict {
            let conflict = Conflict {
                reason,
                current_version: self.version.get(),
                incoming_version,
                detail,
            };
            // An observer must not break protocol handling.
            let _ = catch_unwind(AssertUnwindSafe(|| on_conflict(&conflict)));
        }
    }
}

/// Applies `patch` to `state` atomically: on error `state` is as it was.
fn apply_patch(state: &mut Value, patch: &json_patch::Patch) -> Result<(), String> {
    // The root must stay an object: refuse operations that would make it anything else.
    for op in &patch.0 {
        if op.path().is_root() {
            let keeps_object = match op {
                json_patch::PatchOperation::Add(add) => add.value.is_object(),
                json_patch::PatchOperation::Replace(replace) => replace.value.is_object(),
                json_patch::PatchOperation::Test(_) => true,
                _ => false,
            };
            if !keeps_object {
                return Err(
                    "an operation would make the state root something other than an object".into(),
                );
            }
        }
    }
    json_patch::patch(state, &patch.0).map_err(|e| e.to_string())
}
