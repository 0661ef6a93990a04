//! The wire: the JSON form of every message, round trips through both codecs, and decoding
//! that never panics.

use proptest::prelude::*;
use serde_json::{Value, json};
use stateloom_worker::{
    Call, CallResult, Codec, Envelope, JsonCodec, Message, Outcome, Payload, PostcardCodec, Ready,
    RemoteError, StateUpdate, SyncRequest,
};

use crate::cases;

fn every_message() -> Vec<Message> {
    vec![
        Message::Call(Call {
            id: 1,
            module: "counter".into(),
            method: "increase".into(),
            args: json!([2]),
        }),
        Message::Result(CallResult {
            id: 1,
            epoch: 42,
            version: 3,
            outcome: Outcome::Ok(json!({"count": 2})),
        }),
        Message::Result(CallResult {
            id: 2,
            epoch: 42,
            version: 3,
            outcome: Outcome::Error(RemoteError::new("unknown-method", "no method `fly`")),
        }),
        Message::State(StateUpdate {
            epoch: 42,
            version: 0,
            payload: Payload::Snapshot(json!({"counter": {"count": 0}})),
            sync_id: None,
        }),
        Message::State(StateUpdate {
            epoch: 42,
            version: 4,
            payload: Payload::Patch(
                serde_json::from_value(json!([
                    {"op": "replace", "path": "/counter/count", "value": 3},
                    {"op": "add", "path": "/todos/items/-", "value": {"title": "milk", "done": false}},
                    {"op": "remove", "path": "/todos/items/0"}
                ]))
                .unwrap(),
            ),
            sync_id: Some(9),
        }),
        Message::Sync(SyncRequest {
            id: 9,
            min_version: 4,
        }),
        Message::Ready(Ready {
            epoch: 42,
            version: 4,
        }),
    ]
}

#[test]
fn the_json_form_of_every_message() {
    let lines: Vec<String> = every_message()
        .iter()
        .map(|m| String::from_utf8(JsonCodec.encode(m).unwrap()).unwrap())
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @r#"
    {"type":"call","id":1,"module":"counter","method":"increase","args":[2]}
    {"type":"result","id":1,"epoch":42,"version":3,"outcome":{"ok":{"count":2}}}
    {"type":"result","id":2,"epoch":42,"version":3,"outcome":{"error":{"code":"unknown-method","message":"no method `fly`"}}}
    {"type":"state","epoch":42,"version":0,"payload":{"snapshot":{"counter":{"count":0}}},"sync_id":null}
    {"type":"state","epoch":42,"version":4,"payload":{"patch":[{"op":"replace","path":"/counter/count","value":3},{"op":"add","path":"/todos/items/-","value":{"done":false,"title":"milk"}},{"op":"remove","path":"/todos/items/0"}]},"sync_id":9}
    {"type":"sync","id":9,"min_version":4}
    {"type":"ready","epoch":42,"version":4}
    "#);
}

#[test]
fn the_json_form_of_a_broadcast_envelope() {
    let envelope = Envelope {
        source: "tab:one".into(),
        target: Some("tab:host".into()),
        auth: Some("s3cret".into()),
        message: Message::Sync(SyncRequest {
            id: 1,
            min_version: 0,
        }),
    };
    insta::assert_snapshot!(serde_json::to_string(&envelope).unwrap(), @r#"{"source":"tab:one","target":"tab:host","auth":"s3cret","message":{"type":"sync","id":1,"min_version":0}}"#);
}

#[test]
fn every_message_round_trips_through_both_codecs() {
    for message in every_message() {
        for codec in [&JsonCodec as &dyn Codec, &PostcardCodec] {
            let bytes = codec.encode(&message).unwrap();
            assert_eq!(codec.decode(&bytes).unwrap(), message, "{}", codec.name());
        }
    }
}

#[test]
fn the_binary_form_is_smaller() {
    for message in every_message() {
        let json = JsonCodec.encode(&message).unwrap().len();
        let binary = PostcardCodec.encode(&message).unwrap().len();
        assert!(binary < json, "{binary} >= {json} for {message:?}");
    }
}

#[test]
fn decoding_rejects_trailing_bytes_and_deep_nesting() {
    let mut bytes = PostcardCodec
        .encode(&Message::Ready(Ready {
            epoch: 1,
            version: 1,
        }))
        .unwrap();
    bytes.push(0);
    assert!(PostcardCodec.decode(&bytes).is_err());

    let mut deep = json!(0);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let message = Message::Call(Call {
        id: 1,
        module: "m".into(),
        method: "f".into(),
        args: deep,
    });
    let bytes = PostcardCodec.encode(&message).unwrap();
    // Refused, rather than recursing as deep as the input asks.
    assert!(PostcardCodec.decode(&bytes).is_err());
    assert!(
        JsonCodec
            .decode(&JsonCodec.encode(&message).unwrap())
            .is_err()
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Quarters: floats that survive a trip through decimal text exactly.
        (-1_000_000..1_000_000_i32).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        "[a-z~/]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(64)))]

    #[test]
    fn any_value_round_trips_through_both_codecs(args in json_value(), id in any::<u64>()) {
        let message = Message::Call(Call { id, module: "m".into(), method: "f".into(), args });
        for codec in [&JsonCodec as &dyn Codec, &PostcardCodec] {
            let bytes = codec.encode(&message).unwrap();
            prop_assert_eq!(codec.decode(&bytes).unwrap(), message.clone());
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = PostcardCodec.decode(&bytes);
        let _ = JsonCodec.decode(&bytes);
    }

    #[test]
    fn decoding_mangled_messages_never_panics(index in 0..7_usize, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = PostcardCodec.encode(&every_message()[index]).unwrap();
        for (at, byte) in flips {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let _ = PostcardCodec.decode(&bytes);
    }
}
