//! Publishing: turning store changes into one new version, as a snapshot or a patch of only
//! the modules that changed.

use json_patch::jsonptr::PointerBuf;
use json_patch::{PatchOperation, ReplaceOperation};
use serde_json::{Map, Value};

use super::diff::push_token;
use super::{HostInner, SyncMode};
use crate::message::{CallId, Message, Payload, StateUpdate};

/// What the host last published (or, for a private module, last saw) of one module.
pub(super) struct Entry {
    /// The store's version when `json` was taken.
    pub(super) store_version: u64,
    /// The module's state as JSON. Invariant: the store's state when its version was
    /// `store_version`.
    pub(super) json: Value,
    /// Whether the module is in the published state sections.
    pub(super) public: bool,
}

impl HostInner {
    /// Publishes the changes of every module whose store moved since the last publication, as
    /// one new version. Private modules' JSON is refreshed (for roll-back) but not published.
    pub(super) fn publish_changes(&self) {
        let mut ops = Vec::new();
        if self.collect_changes(&mut ops) {
            self.post_update(ops);
        }
    }

    /// Brings every module's last-seen JSON up to its store, appending the operations of the
    /// public ones to `ops`. Returns whether a public module changed. Nothing is posted: a
    /// batch of calls collects after each call and publishes once.
    pub(super) fn collect_changes(&self, ops: &mut Vec<PatchOperation>) -> bool {
        if self.publishing.replace(true) {
            // A listener of a store wrote during publication: the loop below picks it up.
            return false;
        }
        // Reset even if a `Serialize` impl panics.
        let _reset = Reset(&self.publishing);
        let mut changed = false;
        loop {
            let mut entries = self.entries.borrow_mut();
            for (module, entry) in self.modules.iter().zip(entries.iter_mut()) {
                let store_version = module.store_version();
                if store_version == entry.store_version {
                    continue;
                }
                entry.store_version = store_version;
                let mut prefix = String::new();
                push_token(&mut prefix, module.name());
                let before = ops.len();
                if module.diff(&mut entry.json, &prefix, ops).is_err() {
                    // Start this module over from a fresh serialization; a state that does not
                    // serialize is not published, and keeps its last JSON.
                    ops.truncate(before);
                    if let Ok(json) = module.to_json() {
                        entry.json = json;
                        ops.push(PatchOperation::Replace(ReplaceOperation {
                            path: PointerBuf::from_tokens([module.name()]),
                            value: entry.json.clone(),
                        }));
                    }
                }
                if entry.public {
                    changed |= ops.len() > before;
                } else {
                    // A private module's operations never leave the host.
                    ops.truncate(before);
                }
            }
            drop(entries);
            let settled = self
                .modules
                .iter()
                .zip(self.entries.borrow().iter())
                .all(|(m, e)| m.store_version() == e.store_version);
            if settled {
                return changed;
            }
        }
    }

    /// Posts one new version made of `ops` (or a snapshot, in snapshot mode).
    pub(super) fn post_update(&self, ops: Vec<PatchOperation>) {
        self.version.set(self.version.get() + 1);
        let payload = match self.sync {
            SyncMode::Patch => Payload::Patch(json_patch::Patch(ops)),
            SyncMode::Snapshot => Payload::Snapshot(self.snapshot()),
        };
        let _ = self.transport.post(Message::State(StateUpdate {
            epoch: self.epoch,
            version: self.version.get(),
            payload,
            sync_id: None,
        }));
    }

    /// The published state: an object of the public modules' JSON.
    pub(super) fn snapshot(&self) -> Value {
        let entries = self.entries.borrow();
        let map: Map<String, Value> = self
            .modules
            .iter()
            .zip(entries.iter())
            .filter(|(_, e)| e.public)
            .map(|(m, e)| (m.name().to_owned(), e.json.clone()))
            .collect();
        Value::Object(map)
    }

    pub(super) fn post_snapshot(&self, sync_id: Option<CallId>) {
        let _ = self.transport.post(Message::State(StateUpdate {
            epoch: self.epoch,
            version: self.version.get(),
            payload: Payload::Snapshot(self.snapshot()),
            sync_id,
        }));
    }
}

/// Clears a flag when dropped.
struct Reset<'a>(&'a std::cell::Cell<bool>);

impl Drop for Reset<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}
