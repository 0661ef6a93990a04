//! Fake hosts that break the handshake, or send unsafe patches, to a real client.

use super::*;

#[test]
fn a_client_refuses_a_host_that_breaks_the_handshake() {
    watch_panics();
    let challenge = |auth: bool, version: u16| {
        framed(
            &Frame::Challenge {
                version,
                epoch: 1,
                auth,
                nonce: [9; 16],
            }
            .to_body(),
        )
    };
    let welcome = framed(
        &Frame::Welcome {
            mac: [0x55; 32],
            max_in_flight: 1,
            resumed: false,
        }
        .to_body(),
    );
    // What each fake host answers to the hello, and whether the client has the secret.
    let answers: Vec<(Vec<u8>, bool)> = vec![
        (b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), false),
        (vec![0xff, 0xff, 0xff, 0xff], false),
        (vec![0, 0, 0, 9, 2], false),
        (
            framed(
                &Frame::Refused {
                    reason: "go away".into(),
                }
                .to_body(),
            ),
            false,
        ),
        (welcome.clone(), false),
        (
            [challenge(false, PROTOCOL_VERSION + 1), welcome.clone()].concat(),
            false,
        ),
        (
            [
                challenge(false, PROTOCOL_VERSION),
                challenge(false, PROTOCOL_VERSION),
            ]
            .concat(),
            false,
        ),
        (challenge(false, PROTOCOL_VERSION), false),
        // A welcome whose resumed flag is neither 0 nor 1.
        (
            [challenge(false, PROTOCOL_VERSION), {
                let mut welcome = welcome.clone();
                *welcome.last_mut().unwrap() = 7;
                welcome
            }]
            .concat(),
            false,
        ),
        // The host asks for a proof the client cannot give.
        (
            [challenge(true, PROTOCOL_VERSION), welcome.clone()].concat(),
            false,
        ),
        // The client has a secret; the host's proof is wrong, or missing.
        (
            [challenge(true, PROTOCOL_VERSION), welcome.clone()].concat(),
            true,
        ),
        (
            [challenge(false, PROTOCOL_VERSION), welcome.clone()].concat(),
            true,
        ),
        (Vec::new(), false),
    ];
    for (answer, with_secret) in answers {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(WAIT)).unwrap();
            let mut hello = [0; 4 + 40];
            stream.read_exact(&mut hello).unwrap();
            let _ = stream.write_all(&answer);
            let _ = stream.shutdown(Shutdown::Write);
            // Wait for the client to hang up.
            let _ = stream.read(&mut [0; 64]);
        });
        let mut builder = NetClient::builder().reconnect(false);
        if with_secret {
            builder = builder.secret("s3cret");
        }
        let connected = builder.connect_tcp(addr);
        assert!(
            matches!(connected, Err(stateloom_worker::Error::Handshake(_))),
            "{connected:?}"
        );
        fake.join().unwrap();
    }
    assert_no_transport_panic();
}

/// The host side of a connection, written by hand: it accepts one client, performs the
/// handshake, sends a snapshot, then for each patch in `patches` sends it and answers the
/// client's resync request with a fresh snapshot. Finally it sends a valid patch that sets
/// the count to `final_count`, and waits for the client to hang up. Returns how many resync
/// requests it answered.
fn fake_host(
    listener: TcpListener,
    epoch: u64,
    patches: Vec<Vec<u8>>,
    final_count: i64,
) -> JoinHandle<usize> {
    thread::Builder::new()
        .name("hostile-test-fake-host".into())
        .spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(WAIT * 2)).unwrap();
            let mut peer = Peer {
                stream,
                decoder: FrameDecoder::new(1 << 20),
                next_id: 1,
            };
            let hello = peer.expect_frame();
            let Ok(Frame::Hello { codec, .. }) = Frame::parse(&hello) else {
                panic!("expected a hello, got {hello:?}");
            };
            let codec: &dyn Codec = if codec == JSON_ID {
                &JsonCodec
            } else {
                &PostcardCodec
            };
            peer.send(&Frame::Challenge {
                version: PROTOCOL_VERSION,
                epoch,
                auth: false,
                nonce: [1; 16],
            });
            peer.send(&Frame::Welcome {
                mac: [0; 32],
                max_in_flight: 16,
                resumed: false,
            });
            let mut version = 1;
            let snapshot = |version: u64, sync_id: Option<u64>, count: i64| {
                codec
                    .encode(&Message::State(StateUpdate {
                        epoch,
                        version,
                        payload: Payload::Snapshot(json!({ "count": count, "nested": { "a": 1 } })),
                        sync_id,
                    }))
                    .unwrap()
            };
            peer.send(&Frame::Message {
                message: &snapshot(version, None, 0),
            });
            let mut seen = 0;
            for patch in patches {
                peer.send(&Frame::Message { message: &patch });
                // The client refuses the patch and asks for a snapshot.
                let request = loop {
                    let body = peer.expect_frame();
                    match Frame::parse(&body) {
                        Ok(Frame::Request { message, .. }) => match codec.decode(message) {
                            Ok(Message::Sync(request)) => break request,
                            other => panic!("expected a sync request, got {other:?}"),
                        },
                        Ok(Frame::Ping) => {}
                        other => panic!("expected a request, got {other:?}"),
                    }
                };
                seen += 1;
                version += 1;
                peer.send(&Frame::Message {
                    message: &snapshot(version, Some(request.id), seen),
                });
            }
            let patch: json_patch::Patch = serde_json::from_value(
                json!([{ "op": "replace", "path": "/count", "value": final_count }]),
            )
            .unwrap();
            peer.send(&Frame::Message {
                message: &codec
                    .encode(&Message::State(StateUpdate {
                        epoch,
                        version: version + 1,
                        payload: Payload::Patch(patch),
                        sync_id: None,
                    }))
                    .unwrap(),
            });
            let _ = peer.until_closed();
            seen as usize
        })
        .unwrap()
}

/// The encoded state message of a patch given as JSON, at `version` of `epoch`.
fn patch_message(codec: &dyn Codec, epoch: u64, version: u64, patch: Value) -> Vec<u8> {
    let patch: json_patch::Patch = serde_json::from_value(patch).unwrap();
    codec
        .encode(&Message::State(StateUpdate {
            epoch,
            version,
            payload: Payload::Patch(patch),
            sync_id: None,
        }))
        .unwrap()
}

/// Patches that cannot apply to `{"count": n, "nested": {"a": 1}}`, each sent right after a
/// snapshot at the version below its own.
fn unsafe_patches() -> Vec<Value> {
    vec![
        // The root replaced by something that is not an object.
        json!([{ "op": "replace", "path": "", "value": 5 }]),
        json!([{ "op": "add", "path": "", "value": [1, 2] }]),
        json!([{ "op": "remove", "path": "" }]),
        json!([{ "op": "move", "from": "/count", "path": "" }]),
        // Paths through parents that do not exist, or climbing out of the state.
        json!([{ "op": "add", "path": "/missing/deep/x", "value": 1 }]),
        json!([{ "op": "add", "path": "/../count", "value": 1 }]),
        json!([{ "op": "replace", "path": "/nested/../../etc", "value": 1 }]),
        json!([{ "op": "remove", "path": "/count/0" }]),
        json!([{ "op": "add", "path": "/count/x", "value": 1 }]),
        json!([{ "op": "copy", "from": "/nope", "path": "/x" }]),
        json!([{ "op": "move", "from": "/nested", "path": "/nested/a/b" }]),
        // A test that fails, before a valid write: nothing is written.
        json!([
            { "op": "replace", "path": "/count", "value": 99 },
            { "op": "test", "path": "/count", "value": "not 99" }
        ]),
    ]
}

fn unsafe_patches_are_refused_and_resynced(codec: WireCodec) {
    watch_panics();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let epoch = 7;
    let wire: &dyn Codec = match codec {
        WireCodec::Json => &JsonCodec,
        _ => &PostcardCodec,
    };
    let patches = unsafe_patches();
    let messages: Vec<Vec<u8>> = patches
        .iter()
        .enumerate()
        .map(|(i, patch)| patch_message(wire, epoch, i as u64 + 2, patch.clone()))
        .collect();
    let host = fake_host(listener, epoch, messages, 4242);

    let conflicts: Rc<RefCell<Vec<Conflict>>> = Rc::default();
    let record = Rc::clone(&conflicts);
    let net = NetClient::builder()
        .codec(codec)
        .reconnect(false)
        .connect_tcp(addr)
        .unwrap();
    let handle = net.handle();
    let client = WorkerClient::builder(net)
        .on_conflict(move |conflict| record.borrow_mut().push(conflict.clone()))
        .build();
    client.wait_ready(Duration::from_secs(10)).unwrap();
    let deadline = Instant::now() + WAIT * 2;
    while client.get_state()["count"] != 4242 {
        assert!(
            Instant::now() < deadline,
            "the client did not reach the final state; it has {} after {} conflicts",
            client.get_state(),
            conflicts.borrow().len()
        );
        client.pump();
        thread::sleep(Duration::from_millis(2));
    }
    let state = client.get_state();
    assert_eq!(state, json!({ "count": 4242, "nested": { "a": 1 } }));
    let conflicts = conflicts.borrow();
    assert_eq!(conflicts.len(), patches.len(), "{conflicts:#?}");
    for (i, conflict) in conflicts.iter().enumerate() {
        assert_eq!(
            conflict.reason,
            ConflictReason::PatchApplyFailed,
            "{conflict:?}"
        );
        assert_eq!(conflict.incoming_version, i as u64 + 2);
        assert!(conflict.detail.is_some());
    }
    assert_eq!(handle.stats().connections, 1);
    // Dropping the client closes its connection, which ends the fake host.
    client.dispose();
    drop(client);
    let seen = host.join().unwrap();
    assert_eq!(seen, patches.len(), "one resync per refused patch");
    assert_no_transport_panic();
}

#[test]
fn a_client_refuses_unsafe_patches_from_its_host_and_resyncs_json() {
    unsafe_patches_are_refused_and_resynced(WireCodec::Json);
}

#[test]
fn a_client_refuses_unsafe_patches_from_its_host_and_resyncs_postcard() {
    unsafe_patches_are_refused_and_resynced(WireCodec::Postcard);
}

#[test]
fn a_client_counts_messages_from_its_host_that_do_not_decode() {
    watch_panics();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let epoch = 3;
    // Patches whose paths are not JSON pointers, and other messages that do not decode; the
    // last patch is valid, so the client shows it is still reading.
    let junk: Vec<&[u8]> = vec![
        br#"{"type":"state","epoch":3,"version":2,"payload":{"patch":[{"op":"add","path":"count","value":1}]},"sync_id":null}"#,
        br#"{"type":"state","epoch":3,"version":2,"payload":{"patch":[{"op":"explode","path":"/count"}]},"sync_id":null}"#,
        br#"{"type":"state","epoch":3,"version":2,"payload":{"snapshot":"#,
        b"\xff\xfe",
        br#"{"type":"call","id":1,"module":"count","method":"add","args":1}"#,
    ];
    let fake = thread::Builder::new()
        .name("hostile-test-fake-host".into())
        .spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(WAIT * 2)).unwrap();
            let mut peer = Peer {
                stream,
                decoder: FrameDecoder::new(1 << 20),
                next_id: 1,
            };
            let _hello = peer.expect_frame();
            peer.send(&Frame::Challenge {
                version: PROTOCOL_VERSION,
                epoch,
                auth: false,
                nonce: [1; 16],
            });
            peer.send(&Frame::Welcome {
                mac: [0; 32],
                max_in_flight: 16,
                resumed: false,
            });
            peer.send(&Frame::Message {
                message: br#"{"type":"state","epoch":3,"version":1,"payload":{"snapshot":{"count":1}},"sync_id":null}"#,
            });
            for message in junk {
                peer.send(&Frame::Message { message });
            }
            peer.send(&Frame::Message {
                message: br#"{"type":"state","epoch":3,"version":2,"payload":{"patch":[{"op":"replace","path":"/count","value":2}]},"sync_id":null}"#,
            });
            let _ = peer.until_closed();
        })
        .unwrap();
    let net = NetClient::builder()
        .codec(WireCodec::Json)
        .reconnect(false)
        .connect_tcp(addr)
        .unwrap();
    let handle = net.handle();
    let client = WorkerClient::new(net);
    client.wait_ready(Duration::from_secs(10)).unwrap();
    let deadline = Instant::now() + WAIT * 2;
    while client.get_state()["count"] != 2 {
        assert!(Instant::now() < deadline, "the valid patch never applied");
        client.pump();
        thread::sleep(Duration::from_millis(2));
    }
    // Four do not decode; the call decodes but a client ignores requests.
    assert_eq!(handle.stats().bad_messages, 4);
    assert_eq!(handle.stats().connections, 1);
    // Dropping the client closes its connection, which ends the fake host.
    client.dispose();
    drop(client);
    fake.join().unwrap();
    assert_no_transport_panic();
}
