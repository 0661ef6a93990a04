//! Bytes from a peer, cut into frames and read as messages: nothing panics, and what parses
//! writes back the same.
//!
//! The first byte of the input picks the chunk sizes the bytes arrive in and the second the
//! decoder's maximum frame size; the rest is the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stateloom_worker::net::{Frame, FrameDecoder, FrameError, encode_frame};
use stateloom_worker::{Codec, JsonCodec, Message, PostcardCodec};

fuzz_target!(|data: &[u8]| {
    let [chunking, limit, stream @ ..] = data else {
        return;
    };
    // Small limits reach the oversized path; 0xff stands for the default.
    let max = match *limit {
        0xff => stateloom_worker::net::DEFAULT_MAX_FRAME,
        n => usize::from(n),
    };
    let chunked = decode(stream, max, *chunking);
    // However the bytes are cut, the same frames come out, and the same error after them.
    let whole = decode(stream, max, 0);
    assert_eq!(chunked, whole, "chunking changed the frames");
    let (frames, _) = chunked;
    let mut reencoded = Vec::new();
    for body in &frames {
        check_body(body);
        encode_frame(body, max, &mut reencoded).expect("a decoded body fits its own limit");
    }
    // The frames taken, written again, are the prefix of the stream they came from.
    assert!(
        stream.starts_with(&reencoded),
        "frames do not re-encode to the stream"
    );
});

/// Feeds `stream` to a decoder in chunks whose sizes cycle with `chunking` (0: all at once);
/// returns the frames and the error that stopped them, if any.
fn decode(stream: &[u8], max: usize, chunking: u8) -> (Vec<Vec<u8>>, Option<FrameError>) {
    let mut decoder = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut step = 0_usize;
    while !rest.is_empty() {
        let size = match chunking {
            0 => rest.len(),
            n => 1 + (usize::from(n) + step * 7) % (usize::from(n) + 1),
        };
        step += 1;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        decoder.push(chunk);
        loop {
            match decoder.next_frame() {
                Ok(Some(body)) => frames.push(body),
                Ok(None) => break,
                Err(e) => {
                    // A stream that errs is dropped; whatever is buffered is checked, once.
                    let _ = decoder.finish();
                    return (frames, Some(e));
                }
            }
        }
        // Nothing beyond one frame header and body waits in the buffer.
        assert!(decoder.buffered() < 4 + max, "more than one frame waits");
    }
    let end = decoder.finish().err();
    (frames, end)
}

/// Parses a body and, where it is a request or a message, decodes it with both codecs.
fn check_body(body: &[u8]) {
    let Ok(frame) = Frame::parse(body) else {
        return;
    };
    let written = frame.to_body();
    match &frame {
        // A refusal's reason is read lossily: invalid UTF-8 becomes replacement characters.
        Frame::Refused { reason } if std::str::from_utf8(&body[1..]).is_err() => {
            assert!(reason.contains('\u{fffd}'));
        }
        _ => assert_eq!(written, body, "{frame:?} does not write back its body"),
    }
    assert_eq!(
        Frame::parse(&written).as_ref(),
        Ok(&frame),
        "a written frame reads back"
    );
    let message = match frame {
        Frame::Request { message, .. } | Frame::Message { message } => message,
        _ => return,
    };
    for codec in [&JsonCodec as &dyn Codec, &PostcardCodec] {
        if let Ok(decoded) = codec.decode(message) {
            roundtrip(codec, &decoded);
        }
    }
}

/// A message that decoded encodes, and decodes again to itself.
fn roundtrip(codec: &dyn Codec, message: &Message) {
    let Ok(bytes) = codec.encode(message) else {
        return;
    };
    let again = codec.decode(&bytes).expect("an encoded message decodes");
    // Floats may not survive JSON exactly; compare the encodings, which are canonical.
    let twice = codec.encode(&again).expect("a decoded message encodes");
    assert_eq!(
        bytes,
        twice,
        "{} does not round-trip {message:?}",
        codec.name()
    );
}
