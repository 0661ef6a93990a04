//! The host's table of requests taken in and not yet answered: the id it gave each, and the
//! reply subject and id of the client that sent it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::codec::Codec;
use crate::message::{CallId, Message};

/// Requests in flight between the NATS host transport and its host.
///
/// # Invariants
/// Every id in `pending` is at most `next`, and `pending` holds at most `limit` entries.
pub(super) struct Routes {
    limit: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next: CallId,
    // Keyed by ids this transport made, but sized by outside input: aHash's seeded hasher.
    pending: HashMap<CallId, (String, CallId), ahash::RandomState>,
}

impl Routes {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            table: Mutex::new(Table::default()),
        }
    }

    /// Decodes a request from the call subject and gives it an id of the host's, remembering
    /// whom to answer. `None` for anything the host must not see: bytes that do not decode,
    /// messages other than calls and sync requests, requests without a usable reply subject,
    /// and requests beyond the in-flight limit.
    pub(super) fn take_in(
        &self,
        codec: &(dyn Codec + Send + Sync),
        message: async_nats::Message,
    ) -> Option<Message> {
        let reply = message.reply.filter(|reply| is_publishable(reply))?;
        let mut decoded = codec.decode(&message.payload).ok()?;
        let id = match &mut decoded {
            Message::Call(call) => &mut call.id,
            Message::Sync(request) => &mut request.id,
            Message::Result(_) | Message::State(_) | Message::Ready(_) => return None,
        };
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if table.pending.len() >= self.limit {
            return None;
        }
        table.next += 1;
        let routed = table.next;
        table.pending.insert(routed, (reply.to_string(), *id));
        debug_assert!(
            table.pending.len() <= self.limit,
            "the in-flight limit holds"
        );
        *id = routed;
        Some(decoded)
    }

    /// The reply subject and original id of the request the host knows as `id`, forgetting
    /// it: each request is answered once.
    pub(super) fn answer(&self, id: CallId) -> Option<(String, CallId)> {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .remove(&id)
    }
}

/// Whether a reply subject names one subject the host can publish to: no wildcards, no
/// spaces, no empty tokens.
fn is_publishable(subject: &str) -> bool {
    subject.split('.').all(|token| {
        !token.is_empty()
            && token != "*"
            && token != ">"
            && !token.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::{JsonCodec, PostcardCodec};
    use crate::message::SyncRequest;

    fn request(reply: Option<&str>, payload: &[u8]) -> async_nats::Message {
        async_nats::Message {
            subject: "p.call".into(),
            reply: reply.map(Into::into),
            payload: payload.to_vec().into(),
            headers: None,
            status: None,
            description: None,
            length: payload.len(),
        }
    }

    fn sync(id: CallId) -> Vec<u8> {
        crate::codec::Codec::encode(
            &JsonCodec,
            &Message::Sync(SyncRequest { id, min_version: 0 }),
        )
        .unwrap()
    }

    #[test]
    fn two_callers_with_the_same_id_get_their_own_answers() {
        let routes = Routes::new(8);
        let a = routes.take_in(&JsonCodec, request(Some("_INBOX.a"), &sync(1)));
        let b = routes.take_in(&JsonCodec, request(Some("_INBOX.b"), &sync(1)));
        let (Some(Message::Sync(a)), Some(Message::Sync(b))) = (a, b) else {
            panic!("both requests are taken in");
        };
        assert_ne!(a.id, b.id);
        assert_eq!(routes.answer(b.id), Some(("_INBOX.b".into(), 1)));
        assert_eq!(routes.answer(a.id), Some(("_INBOX.a".into(), 1)));
        assert_eq!(routes.answer(a.id), None, "answered once");
    }

    #[test]
    fn bad_requests_are_refused() {
        let routes = Routes::new(1);
        assert!(
            routes
                .take_in(&JsonCodec, request(None, &sync(1)))
                .is_none()
        );
        assert!(
            routes
                .take_in(&JsonCodec, request(Some("_INBOX.*"), &sync(1)))
                .is_none()
        );
        assert!(
            routes
                .take_in(&JsonCodec, request(Some("_INBOX.a"), b"\xff{"))
                .is_none()
        );
        let ready = br#"{"type":"ready","epoch":1,"version":0}"#;
        assert!(
            routes
                .take_in(&JsonCodec, request(Some("_INBOX.a"), ready))
                .is_none()
        );
        assert!(
            routes
                .take_in(&JsonCodec, request(Some("_INBOX.a"), &sync(1)))
                .is_some()
        );
        assert!(
            routes
                .take_in(&JsonCodec, request(Some("_INBOX.a"), &sync(2)))
                .is_none(),
            "over the in-flight limit"
        );
    }

    proptest! {
        /// Whatever bytes arrive, with either codec, the host sees at most a call or a sync
        /// request with an id of its own, and nothing panics.
        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            postcard in any::<bool>(),
        ) {
            let routes = Routes::new(4);
            let codec: &(dyn Codec + Send + Sync) = if postcard { &PostcardCodec } else { &JsonCodec };
            match routes.take_in(codec, request(Some("_INBOX.a"), &bytes)) {
                None => {}
                Some(Message::Call(call)) => prop_assert_eq!(call.id, 1),
                Some(Message::Sync(sync)) => prop_assert_eq!(sync.id, 1),
                Some(other) => prop_assert!(false, "{:?} reached the host", other),
            }
        }
    }
}
