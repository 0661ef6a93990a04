//! Hostile peers during the handshake: each is refused with a reason and counted.

use super::*;

/// Connects a raw peer, lets `attack` misbehave, and checks the host refused it with a reason
/// containing `reason`, counted the refusal, and kept serving the good client.
fn refused(served: &Served, good: &Good, reason: &str, attack: impl FnOnce(&mut Peer)) {
    let before = served.stats();
    let mut peer = Peer::connect(&served.addr);
    attack(&mut peer);
    let got = peer.refusal();
    assert!(
        got.contains(reason),
        "refused with {got:?}, expected {reason:?}"
    );
    let after = served.stats();
    assert_eq!(after.refused, before.refused + 1);
    assert_eq!(after.accepted, before.accepted);
    good.check();
}

#[test]
fn the_host_refuses_broken_handshakes_and_keeps_serving() {
    let served = Served::start(NetHost::builder().codecs([WireCodec::Postcard]));
    let good = served.good_client(None);
    good.check();

    refused(&served, &good, "not a stateloom-worker hello", |peer| {
        peer.send_raw(&framed(b"\x09garbage"));
    });
    // An HTTP request: "GET " read as a length is far over the limit.
    refused(&served, &good, "over the limit", |peer| {
        peer.send_raw(b"GET / HTTP/1.1\r\n\r\n");
    });
    refused(&served, &good, "not a stateloom-worker hello", |peer| {
        peer.send_raw(&framed(&hello_with_magic(b"HTTP")));
    });
    refused(&served, &good, "protocol version 99", |peer| {
        peer.hello(99, POSTCARD_ID);
    });
    refused(&served, &good, "unknown codec 7", |peer| {
        peer.hello(PROTOCOL_VERSION, 7);
    });
    refused(&served, &good, "does not accept the json codec", |peer| {
        peer.hello(PROTOCOL_VERSION, JSON_ID);
    });
    // A request before any hello.
    refused(&served, &good, "not a stateloom-worker hello", |peer| {
        peer.request(br#"{"type":"sync","id":1,"min_version":0}"#);
    });
    // Only the length prefix of a 4 GiB frame: refused at once, not after its body.
    refused(&served, &good, "over the limit", |peer| {
        peer.send_raw(&[0xff, 0xff, 0xff, 0xff]);
    });
    refused(&served, &good, "the stream ended inside a frame", |peer| {
        peer.send_raw(&[0, 0, 0, 40, 1, b'S', b'L']);
        peer.stream.shutdown(Shutdown::Write).unwrap();
    });
    refused(&served, &good, "an empty frame", |peer| {
        peer.send_raw(&[0, 0, 0, 0]);
    });
    refused(&served, &good, "ended before the hello", |peer| {
        peer.stream.shutdown(Shutdown::Write).unwrap();
    });
    assert_eq!(served.stats().accepted, 1, "only the good client got in");
}

#[test]
fn the_host_refuses_a_wrong_or_missing_proof() {
    let secret: &[u8] = b"correct horse battery staple";
    let served = Served::start(NetHost::builder().secret(secret));
    let good = served.good_client(Some(secret));
    good.check();

    let challenged = |peer: &mut Peer| {
        peer.hello(PROTOCOL_VERSION, JSON_ID);
        let challenge = peer.expect_frame();
        assert!(
            matches!(
                Frame::parse(&challenge),
                Ok(Frame::Challenge { auth: true, .. })
            ),
            "expected a challenge that asks for a proof, got {challenge:?}"
        );
    };
    refused(&served, &good, "authentication failed", |peer| {
        challenged(peer);
        peer.send(&Frame::Proof { mac: [0xab; 32] });
    });
    refused(&served, &good, "expected a proof", |peer| {
        challenged(peer);
        peer.request(br#"{"type":"sync","id":1,"min_version":0}"#);
    });
    refused(&served, &good, "no proof", |peer| {
        challenged(peer);
        peer.stream.shutdown(Shutdown::Write).unwrap();
    });
    // A client without the secret gives up at the challenge.
    let without = NetClient::builder()
        .reconnect(false)
        .connect_tcp(served.addr.as_str());
    assert!(without.is_err(), "a client without the secret connected");
    good.check();
    assert_eq!(served.stats().accepted, 1, "only the good client got in");
}
