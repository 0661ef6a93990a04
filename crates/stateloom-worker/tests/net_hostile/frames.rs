//! Frames and codecs on arbitrary bytes: nothing panics, and what is well-formed round-trips.

use super::*;

/// Reads a body as a frame, and its message with both codecs; none of it may panic.
fn read_body(body: &[u8]) {
    if let Ok(frame) = Frame::parse(body) {
        assert_eq!(Frame::parse(&frame.to_body()).as_ref(), Ok(&frame));
        if let Frame::Request { message, .. } | Frame::Message { message } = frame {
            let _ = JsonCodec.decode(message);
            let _ = PostcardCodec.decode(message);
        }
    }
}

/// The body of an arbitrary well-formed frame.
fn arb_body() -> impl Strategy<Value = Vec<u8>> {
    let message = prop::collection::vec(any::<u8>(), 1..64);
    prop_oneof![
        (any::<u16>(), any::<u8>(), any::<u128>(), any::<[u8; 16]>()).prop_map(
            |(version, codec, session, nonce)| Frame::Hello {
                version,
                codec,
                session,
                nonce
            }
            .to_body()
        ),
        (any::<u16>(), any::<u64>(), any::<bool>(), any::<[u8; 16]>()).prop_map(
            |(version, epoch, auth, nonce)| Frame::Challenge {
                version,
                epoch,
                auth,
                nonce
            }
            .to_body()
        ),
        any::<[u8; 32]>().prop_map(|mac| Frame::Proof { mac }.to_body()),
        (any::<[u8; 32]>(), any::<u32>(), any::<bool>()).prop_map(
            |(mac, max_in_flight, resumed)| Frame::Welcome {
                mac,
                max_in_flight,
                resumed
            }
            .to_body()
        ),
        ".{0,40}".prop_map(|reason| Frame::Refused { reason }.to_body()),
        (any::<u64>(), message.clone()).prop_map(|(ack, message)| Frame::Request {
            ack,
            message: &message
        }
        .to_body()),
        message.prop_map(|message| Frame::Message { message: &message }.to_body()),
        Just(Frame::Ping.to_body()),
        Just(Frame::Bye.to_body()),
    ]
}

#[test]
fn arbitrary_bytes_never_panic_the_decoder_parser_or_codecs() {
    let mut runner = TestRunner::new(Config::with_cases(cases(256)));
    let input = (
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(any::<usize>(), 0..8),
        prop_oneof![Just(0_usize), 1_usize..64, Just(1 << 20)],
    );
    runner
        .run(&input, |(bytes, cuts, max)| {
            let (frames, end) = decode_all(&bytes, &cuts, max);
            // However the bytes were cut, the same frames and the same end.
            prop_assert_eq!(&(frames.clone(), end), &decode_all(&bytes, &[], max));
            for body in &frames {
                prop_assert!(!body.is_empty() && body.len() <= max);
                read_body(body);
            }
            // The bytes themselves, read as one body and as one message.
            read_body(&bytes);
            let _ = JsonCodec.decode(&bytes);
            let _ = PostcardCodec.decode(&bytes);
            Ok(())
        })
        .unwrap();
}

#[test]
fn frames_round_trip_however_the_bytes_are_cut() {
    let mut runner = TestRunner::new(Config::with_cases(cases(256)));
    let input = (
        prop::collection::vec(arb_body(), 0..8),
        prop::collection::vec(any::<usize>(), 0..16),
    );
    runner
        .run(&input, |(frames, cuts)| {
            let mut bytes = Vec::new();
            for body in &frames {
                encode_frame(body, 1 << 20, &mut bytes).unwrap();
            }
            let (bodies, end) = decode_all(&bytes, &cuts, 1 << 20);
            prop_assert_eq!(end, Ok(()));
            prop_assert_eq!(&bodies, &frames);
            for body in &bodies {
                // Every well-formed body parses, and writes back byte for byte.
                prop_assert_eq!(&Frame::parse(body).unwrap().to_body(), body);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn arbitrary_messages_round_trip_through_both_codecs() {
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
    .prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let message = prop_oneof![
        (any::<u64>(), ".{0,8}", ".{0,8}", value.clone()).prop_map(|(id, module, method, args)| {
            Message::Call(Call {
                id,
                module,
                method,
                args,
            })
        }),
        (any::<u64>(), any::<u64>(), any::<u64>(), value.clone()).prop_map(
            |(id, epoch, version, v)| Message::Result(CallResult {
                id,
                epoch,
                version,
                outcome: Outcome::Ok(v),
            })
        ),
        (any::<u64>(), any::<u64>(), value, any::<Option<u64>>()).prop_map(
            |(epoch, version, v, sync_id)| Message::State(StateUpdate {
                epoch,
                version,
                payload: Payload::Snapshot(v),
                sync_id,
            })
        ),
        (any::<u64>(), any::<u64>())
            .prop_map(|(id, min_version)| Message::Sync(SyncRequest { id, min_version })),
        (any::<u64>(), any::<u64>())
            .prop_map(|(epoch, version)| Message::Ready(Ready { epoch, version })),
    ];
    let mut runner = TestRunner::new(Config::with_cases(cases(256)));
    runner
        .run(&(message, any::<u64>()), |(message, ack)| {
            for codec in [&JsonCodec as &dyn Codec, &PostcardCodec] {
                let encoded = codec.encode(&message).unwrap();
                let mut bytes = Vec::new();
                encode_frame(
                    &Frame::Request {
                        ack,
                        message: &encoded,
                    }
                    .to_body(),
                    1 << 20,
                    &mut bytes,
                )
                .unwrap();
                let (bodies, end) = decode_all(&bytes, &[bytes.len() / 3, 5], 1 << 20);
                prop_assert_eq!(end, Ok(()));
                prop_assert_eq!(bodies.len(), 1);
                let Ok(Frame::Request {
                    ack: got,
                    message: m,
                }) = Frame::parse(&bodies[0])
                else {
                    return Err(TestCaseError::fail("not a request"));
                };
                prop_assert_eq!(got, ack);
                prop_assert_eq!(&codec.decode(m).unwrap(), &message);
                // Cut short, the message is refused, not misread.
                prop_assert!(codec.decode(&m[..m.len() - 1]).is_err());
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn an_oversized_length_prefix_is_refused_before_its_body_arrives() {
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&[0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::Oversized {
            len: u64::from(u32::MAX),
            max: 1024
        })
    );
    assert_eq!(decoder.buffered(), 4);
    // Just over the limit, with the body trickling in: refused at the header already.
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&1025_u32.to_be_bytes());
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::Oversized {
            len: 1025,
            max: 1024
        })
    );
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&1024_u32.to_be_bytes());
    assert_eq!(decoder.next_frame(), Ok(None));
}

#[test]
fn finish_after_an_error_or_whole_frames_does_not_panic() {
    // `finish` computed the missing bytes as `header + length - buffered`, which underflowed
    // when more than one frame (or bytes after a refused header) were buffered.
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&[0, 0, 0, 1, b'a', 0, 0, 0, 1, b'b', 0]);
    assert!(decoder.finish().is_err());
    let mut decoder = FrameDecoder::new(4);
    decoder.push(&[0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(decoder.next_frame(), Err(FrameError::Empty));
    assert!(decoder.finish().is_err());
    let mut decoder = FrameDecoder::new(4);
    decoder.push(&[0, 0, 0, 5, 1, 2, 3, 4, 5, 6]);
    assert!(matches!(
        decoder.next_frame(),
        Err(FrameError::Oversized { .. })
    ));
    assert!(decoder.finish().is_err());
    let mut decoder = FrameDecoder::new(usize::MAX);
    decoder.push(&[0xff, 0xff, 0xff, 0xff, 1]);
    assert_eq!(
        decoder.finish(),
        Err(FrameError::Truncated {
            missing: 4 + u32::MAX as usize - 5
        })
    );
}
