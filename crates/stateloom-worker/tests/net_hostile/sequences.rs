//! Arbitrary sequences of hostile frames, over TCP and through a pipe.

use super::*;

/// One thing a hostile peer sends after its handshake.
#[derive(Debug, Clone)]
enum Step {
    Ping,
    /// The frame of a client that leaves for good.
    Bye,
    /// A call; module and method from a small set that includes ones that do not exist.
    Call {
        ack: u64,
        id: u64,
        module: &'static str,
        method: &'static str,
        args: Value,
    },
    Sync {
        ack: u64,
        id: u64,
        min_version: u64,
    },
    /// A message only a host sends.
    HostMessage(u64),
    /// A request frame whose message is arbitrary bytes.
    Junk(Vec<u8>),
    /// A frame of arbitrary kind and body.
    Frame(Vec<u8>),
    /// Arbitrary bytes, not framed.
    Raw(Vec<u8>),
}

fn arb_step() -> impl Strategy<Value = Step> {
    let args = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::from)),
        ".{0,8}".prop_map(Value::from),
        prop::collection::vec(any::<i32>(), 0..4).prop_map(|v| json!(v)),
    ];
    let ack = prop_oneof![0_u64..8, any::<u64>()];
    prop_oneof![
        2 => Just(Step::Ping),
        1 => Just(Step::Bye),
        6 => (
            ack.clone(),
            prop_oneof![0_u64..8, any::<u64>()],
            prop::sample::select(vec!["count", "echo", "nope", ""]),
            prop::sample::select(vec!["add", "echo", "nope", ""]),
            args,
        )
            .prop_map(|(ack, id, module, method, args)| Step::Call {
                ack,
                id,
                module,
                method,
                args
            }),
        2 => (ack, any::<u64>(), any::<u64>())
            .prop_map(|(ack, id, min_version)| Step::Sync { ack, id, min_version }),
        2 => any::<u64>().prop_map(Step::HostMessage),
        2 => prop::collection::vec(any::<u8>(), 1..32).prop_map(Step::Junk),
        1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(Step::Frame),
        1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(Step::Raw),
    ]
}

/// Whether a host reading `stream` after the handshake gets to a `Bye` before anything that
/// makes it drop the connection: a frame that is not a request, a ping or a bye, broken
/// framing, or more than 16 requests whose message is not a call or a sync.
fn says_bye(stream: &[u8]) -> bool {
    let mut decoder = FrameDecoder::new(1 << 20);
    decoder.push(stream);
    let mut bad = 0;
    while let Ok(Some(body)) = decoder.next_frame() {
        match Frame::parse(&body) {
            Ok(Frame::Bye) => return true,
            Ok(Frame::Ping) => {}
            Ok(Frame::Request { message, .. }) => {
                if !matches!(
                    JsonCodec.decode(message),
                    Ok(Message::Call(_) | Message::Sync(_))
                ) {
                    bad += 1;
                    if bad > 16 {
                        return false;
                    }
                }
            }
            _ => return false,
        }
    }
    false
}

impl Step {
    /// Appends the bytes of this step to `out`.
    fn write(&self, out: &mut Vec<u8>) {
        let frame = |out: &mut Vec<u8>, frame: &Frame<'_>| {
            encode_frame(&frame.to_body(), usize::MAX, out).unwrap();
        };
        let request = |out: &mut Vec<u8>, ack: u64, message: &Message| {
            let message = JsonCodec.encode(message).unwrap();
            frame(
                out,
                &Frame::Request {
                    ack,
                    message: &message,
                },
            );
        };
        match self {
            Step::Ping => frame(out, &Frame::Ping),
            Step::Bye => frame(out, &Frame::Bye),
            Step::Call {
                ack,
                id,
                module,
                method,
                args,
            } => request(
                out,
                *ack,
                &Message::Call(Call {
                    id: *id,
                    module: (*module).into(),
                    method: (*method).into(),
                    args: args.clone(),
                }),
            ),
            Step::Sync {
                ack,
                id,
                min_version,
            } => request(
                out,
                *ack,
                &Message::Sync(SyncRequest {
                    id: *id,
                    min_version: *min_version,
                }),
            ),
            Step::HostMessage(n) => request(
                out,
                0,
                &Message::State(StateUpdate {
                    epoch: *n,
                    version: *n,
                    payload: Payload::Snapshot(json!({ "count": n })),
                    sync_id: Some(*n),
                }),
            ),
            Step::Junk(bytes) => frame(
                out,
                &Frame::Request {
                    ack: 0,
                    message: bytes,
                },
            ),
            Step::Frame(body) => out.extend_from_slice(&framed(body)),
            Step::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
}

#[test]
fn arbitrary_hostile_sequences_leave_other_clients_correct() {
    let served = Served::start(NetHost::builder().max_frame(1 << 20));
    let good = served.good_client(None);
    good.check();
    let mut runner = TestRunner::new(Config::with_cases(cases(64)));
    runner
        .run(&prop::collection::vec(arb_step(), 1..24), |steps| {
            let before = served.stats();
            let mut peer = served.raw_peer();
            let mut stream = Vec::new();
            for step in &steps {
                step.write(&mut stream);
            }
            peer.send_raw(&stream);
            // Then the peer goes away, however far the host got in reading it.
            let _ = peer.stream.shutdown(Shutdown::Both);
            drop(peer);
            // The host welcomes a peer before it registers its connection: wait for both.
            let after = served.wait_stats("the hostile connection is cleaned up", |s| {
                s.accepted == before.accepted + 1 && s.connections == 1
            });
            prop_assert_eq!(after.refused, before.refused);
            if !says_bye(&stream) {
                prop_assert!(
                    after.dropped > before.dropped,
                    "a connection went unnoticed"
                );
            }
            // The well-behaved client still gets the right answers, on its first connection.
            good.check();
            let count = good.client.call_blocking("count", "add", 1).unwrap();
            let mirrored = good.client.get_state()["count"].clone();
            // Hostile calls may add to the counter too, but not after this call: the host read
            // them, and handed them to the app, before it cleaned up their connection.
            prop_assert_eq!(mirrored, count);
            Ok(())
        })
        .unwrap();
    assert_no_transport_panic();
}

/// A writer whose bytes the test reads afterwards.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<u8>>>);

impl Write for Collected {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn arbitrary_streams_through_a_pipe_get_well_formed_answers() {
    let served = Served::start(NetHost::builder().max_frame(1 << 20));
    let good = served.good_client(None);
    good.check();
    let mut runner = TestRunner::new(Config::with_cases(cases(64)));
    let input = (
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..32),
        prop::collection::vec(arb_step(), 0..16),
    );
    runner
        .run(&input, |(with_hello, prefix, steps)| {
            let mut stream = Vec::new();
            if with_hello {
                let hello = Frame::Hello {
                    version: PROTOCOL_VERSION,
                    codec: JSON_ID,
                    session: fresh_session(),
                    nonce: [3; 16],
                };
                stream.extend_from_slice(&framed(&hello.to_body()));
            } else {
                stream.extend_from_slice(&prefix);
            }
            let mut requests = Vec::new();
            for step in &steps {
                step.write(&mut requests);
            }
            stream.extend_from_slice(&requests);
            let before = served.stats();
            let answers = Collected::default();
            served
                .host
                .accept(Pipe::new(Cursor::new(stream), answers.clone()));
            // The host refuses the stream, or accepts it and reads it until it ends.
            let after = served.wait_stats("the piped connection ends", |s| {
                s.refused > before.refused || (s.accepted > before.accepted && s.connections == 1)
            });
            // The host's threads drop their writer when they end: then the answers are whole.
            let deadline = Instant::now() + WAIT;
            while Arc::strong_count(&answers.0) > 1 {
                prop_assert!(Instant::now() < deadline, "the host kept writing");
                thread::sleep(Duration::from_millis(2));
            }
            let answers = answers.0.lock().unwrap().clone();
            let (bodies, end) = decode_all(&answers, &[], 1 << 20);
            prop_assert_eq!(end, Ok(()), "the host wrote a broken frame");
            let frames: Vec<Frame<'_>> = bodies
                .iter()
                .map(|body| Frame::parse(body).expect("the host wrote a frame it cannot read"))
                .collect();
            if after.accepted > before.accepted {
                prop_assert!(with_hello);
                if !says_bye(&requests) {
                    prop_assert!(
                        after.dropped > before.dropped,
                        "a connection went unnoticed"
                    );
                }
                prop_assert!(
                    matches!(frames.first(), Some(Frame::Challenge { auth: false, .. })),
                    "{:?}",
                    frames
                );
                prop_assert!(
                    matches!(frames.get(1), Some(Frame::Welcome { .. })),
                    "{:?}",
                    frames
                );
                for frame in &frames[2..] {
                    let Frame::Message { message } = frame else {
                        prop_assert!(matches!(frame, Frame::Ping), "{:?}", frame);
                        continue;
                    };
                    let message = JsonCodec
                        .decode(message)
                        .expect("the host's message decodes");
                    prop_assert!(
                        matches!(message, Message::State(_) | Message::Result(_)),
                        "{:?}",
                        message
                    );
                }
            } else {
                // Refused: one refusal, nothing else.
                prop_assert_eq!(after.refused, before.refused + 1);
                prop_assert_eq!(frames.len(), 1, "{:?}", frames);
                prop_assert!(matches!(frames[0], Frame::Refused { .. }), "{:?}", frames);
            }
            good.check();
            Ok(())
        })
        .unwrap();
}
