//! Hostile peers after the handshake: bad requests are answered with errors or counted, and
//! broken framing drops the connection.

use super::*;

#[test]
fn bad_requests_get_errors_or_are_counted_and_the_connection_survives() {
    let served = Served::start(NetHost::builder());
    let good = served.good_client(None);
    good.check();
    let mut peer = served.raw_peer();
    // The peer itself works.
    assert_eq!(
        peer.round_trip("echo", "echo", json!("hi")),
        Outcome::Ok(json!("hi"))
    );

    let before = served.stats();
    let state = JsonCodec
        .encode(&Message::State(StateUpdate {
            epoch: 1,
            version: 1,
            payload: Payload::Snapshot(json!({ "count": 1_000_000 })),
            sync_id: None,
        }))
        .unwrap();
    let result = JsonCodec
        .encode(&Message::Result(CallResult {
            id: 1,
            epoch: 1,
            version: 1,
            outcome: Outcome::Ok(json!(1)),
        }))
        .unwrap();
    let ready = JsonCodec
        .encode(&Message::Ready(Ready {
            epoch: 1,
            version: 1,
        }))
        .unwrap();
    let bad: [&[u8]; 8] = [
        b"\xff\xfe\xfd not utf-8",
        b"{\"type\":\"call\",\"id\":",
        b"{\"type\":\"launch\",\"id\":1}",
        b"[1,2,3]",
        b"{\"type\":\"call\",\"id\":-1,\"module\":\"count\",\"method\":\"add\",\"args\":1}",
        &state,
        &result,
        &ready,
    ];
    for message in bad {
        peer.request(message);
    }
    // The bad messages were read before this call: its answer shows they were all handled.
    assert_eq!(
        peer.round_trip("echo", "echo", json!(1)),
        Outcome::Ok(json!(1))
    );
    let after = served.stats();
    assert_eq!(after.bad_messages, before.bad_messages + bad.len() as u64);
    assert_eq!(after.dropped, before.dropped);
    assert_eq!(after.connections, 2);
    // Nobody saw the forged state.
    good.check();
    assert_ne!(good.client.get_state()["count"], json!(1_000_000));

    // Calls the app cannot run are answered with errors.
    let outcome = peer.round_trip("nope", "add", json!(1));
    assert_eq!(error_code(&outcome), "unknown-module");
    let outcome = peer.round_trip("count", "nope", json!(1));
    assert_eq!(error_code(&outcome), "unknown-method");
    let outcome = peer.round_trip("count", "add", json!("one"));
    assert_eq!(error_code(&outcome), "bad-arguments");
    let outcome = peer.round_trip("count", "add", json!({ "n": [1, 2] }));
    assert_eq!(error_code(&outcome), "bad-arguments");
    let outcome = peer.round_trip("", "", Value::Null);
    assert_eq!(error_code(&outcome), "unknown-module");
    // A ping is not a violation.
    peer.send(&Frame::Ping);
    assert_eq!(
        peer.round_trip("echo", "echo", json!([])),
        Outcome::Ok(json!([]))
    );
    assert_eq!(served.stats().dropped, before.dropped);
    good.check();
}

/// Connects a raw peer past its handshake, lets `attack` misbehave, and checks the host
/// dropped it, counted the drop, and kept serving the good client.
fn dropped(served: &Served, good: &Good, attack: impl FnOnce(&mut Peer)) -> NetHostStats {
    let before = served.stats();
    let mut peer = served.raw_peer();
    attack(&mut peer);
    let frames = peer.until_closed();
    for body in &frames {
        // Nothing but state, results and pings; in particular no refusal after the welcome.
        assert!(
            matches!(Frame::parse(body), Ok(Frame::Message { .. } | Frame::Ping)),
            "unexpected frame {body:?}"
        );
    }
    let after = served.stats();
    assert_eq!(after.dropped, before.dropped + 1);
    served.wait_stats("the dropped connection is cleaned up", |s| {
        s.connections == 1
    });
    good.check();
    after
}

#[test]
fn the_host_drops_connections_that_break_the_framing() {
    let served = Served::start(NetHost::builder().max_frame(64 * 1024));
    let good = served.good_client(None);
    good.check();

    // A length prefix over the limit, its body never sent: dropped at the header.
    dropped(&served, &good, |peer| {
        peer.send_raw(&(64 * 1024 + 1_u32).to_be_bytes());
    });
    dropped(&served, &good, |peer| {
        peer.send_raw(&[0xff, 0xff, 0xff, 0xff]);
    });
    // A truncated frame, then the end of the stream.
    dropped(&served, &good, |peer| {
        peer.send_raw(&[0, 0, 0, 100, 16, 0, 0, 0]);
        peer.stream.shutdown(Shutdown::Write).unwrap();
    });
    dropped(&served, &good, |peer| {
        peer.send_raw(&[0, 0, 0, 0]);
    });
    // Frames that are not requests now: a handshake frame, a host's frame, garbage.
    dropped(&served, &good, |peer| {
        peer.hello(PROTOCOL_VERSION, JSON_ID);
    });
    dropped(&served, &good, |peer| {
        peer.send(&Frame::Refused {
            reason: "no".into(),
        });
    });
    dropped(&served, &good, |peer| {
        peer.send(&Frame::Message { message: b"{}" });
    });
    dropped(&served, &good, |peer| {
        peer.send_raw(&framed(&[0x7f, 1, 2, 3]));
    });
    dropped(&served, &good, |peer| {
        peer.send_raw(&framed(&[16, 0, 0]));
    });
    assert_no_transport_panic();
}

#[test]
fn the_host_drops_a_flood_of_bad_messages() {
    let served = Served::start(NetHost::builder());
    let good = served.good_client(None);
    good.check();
    let before = served.stats();
    let after = dropped(&served, &good, |peer| {
        for i in 0..1000 {
            peer.request(format!("{{\"type\":\"nonsense\",\"n\":{i}}}").as_bytes());
        }
    });
    // The limit is 16 bad messages: the 17th drops the connection, the rest are not read.
    assert_eq!(after.bad_messages, before.bad_messages + 17);
}

#[test]
fn a_bye_ends_the_connection_and_its_session_without_counting_a_drop() {
    let served = Served::start(NetHost::builder());
    let good = served.good_client(None);
    good.check();
    let before = served.stats();
    let mut peer = served.raw_peer();
    assert_eq!(
        peer.round_trip("count", "add", json!(0)),
        Outcome::Ok(json!(0))
    );
    assert_eq!(served.stats().sessions, before.sessions + 1);
    // A bye, and requests after it that the host must not read.
    peer.send(&Frame::Bye);
    peer.call("count", "add", json!(1_000));
    peer.send_raw(&[0xff, 0xff, 0xff, 0xff]);
    for body in peer.until_closed() {
        assert!(
            matches!(Frame::parse(&body), Ok(Frame::Message { .. } | Frame::Ping)),
            "unexpected frame {body:?}"
        );
    }
    let after = served.wait_stats("the connection that said bye is cleaned up", |s| {
        s.connections == 1
    });
    assert_eq!(after.dropped, before.dropped);
    assert_eq!(
        after.sessions, before.sessions,
        "the session was not forgotten"
    );
    good.check();
    assert_eq!(good.client.get_state()["count"], json!(0));
}
