//! Checks shared by the fuzz targets and by `bgp/tests/fuzz_corpus_replay.rs` (which includes
//! this file with `#[path]`), so the committed corpus is replayed by `cargo test` with exactly
//! the assertions the fuzzer made.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bgp::packet::attribute::{FLAG_EXTENDED_LENGTH, FLAG_PARTIAL};
use bgp::packet::{
    DecodeOptions, Decoded, EncodeError, EncodeOptions, Message, decode_message, encode_message,
    frame_length,
};
use bytes::{Buf, BytesMut};

/// The two session flavours every input is decoded with.
pub const OPTION_SETS: [DecodeOptions; 2] = [
    DecodeOptions {
        four_octet_as: true,
        external: false,
    },
    DecodeOptions {
        four_octet_as: false,
        external: true,
    },
];

/// Unknown attributes come back with Partial set and Extended Length recomputed; compare
/// them without those two bits.
fn normalize(mut msg: Message) -> Message {
    if let Message::Update(u) = &mut msg {
        if let Some(a) = &mut u.attributes {
            for raw in &mut a.unknown {
                raw.flags = (raw.flags | FLAG_PARTIAL) & !FLAG_EXTENDED_LENGTH;
            }
        }
    }
    msg
}

/// A message decoded without issues must encode, and decode again to the same value.
pub fn round_trip(decoded: &Decoded, opts: &DecodeOptions) {
    if !decoded.issues.is_empty() {
        return;
    }
    let mut out = BytesMut::new();
    let enc = EncodeOptions {
        four_octet_as: opts.four_octet_as,
    };
    match encode_message(&decoded.message, &enc, &mut out) {
        Ok(()) => {}
        // Re-encoding may legitimately grow a message past 4096 octets: AS4_PATH is added
        // for 4-octet AS numbers, each capability gets its own parameter.
        Err(EncodeError::TooLong { .. }) => return,
        Err(e) => panic!("re-encode failed: {e}: {:?}", decoded.message),
    }
    let again = decode_message(&out, opts).unwrap_or_else(|e| {
        panic!(
            "re-encoded message does not decode: {e}: {:?}",
            decoded.message
        )
    });
    assert_eq!(again.issues, vec![], "re-encoded message has issues");
    assert_eq!(
        normalize(again.message),
        normalize(decoded.message.clone()),
        "round trip changed the message"
    );
}

/// Decodes `frame` with both option sets and round-trips what decodes cleanly.
fn check_frame(frame: &[u8]) {
    for opts in &OPTION_SETS {
        if let Ok(decoded) = decode_message(frame, opts) {
            round_trip(&decoded, opts);
        }
    }
}

/// Target `decode_message`: `data` as a buffered stream, and `data[1..]` as the body of a
/// message of type `data[0] % 5 + 1` behind a valid header (so bodies are reached quickly).
pub fn check_message(data: &[u8]) {
    // Whatever the input, the decoder must answer without panicking.
    for opts in &OPTION_SETS {
        let _ = decode_message(data, opts);
    }
    if let Ok(Some(n)) = frame_length(data) {
        assert!((19..=4096).contains(&n) && n <= data.len());
        check_frame(data.get(..n).unwrap());
    }
    if let Some((&selector, body)) = data.split_first() {
        let body = body.get(..body.len().min(4096 - 19)).unwrap();
        let mut frame = vec![0xFF; 16];
        frame.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
        frame.push(selector % 5 + 1);
        frame.extend_from_slice(body);
        let _ = frame_length(&frame);
        check_frame(&frame);
    }
}

/// Target `session_input`: the first octet sets a read size; the rest arrives in reads of
/// that size and is framed and decoded as a session reader does, until an error. Every
/// frame consumes at least 19 octets and framing never waits while 4096 are buffered, so
/// progress is bounded. Returns the number of messages decoded.
pub fn check_stream(data: &[u8]) -> usize {
    let Some((&seed, stream)) = data.split_first() else {
        return 0;
    };
    let read_size = usize::from(seed).max(1) * 7;
    let mut total = 0;
    for opts in &OPTION_SETS {
        let mut buf = BytesMut::new();
        'session: for chunk in stream.chunks(read_size) {
            buf.extend_from_slice(chunk);
            loop {
                match frame_length(&buf) {
                    Ok(Some(n)) => {
                        assert!((19..=4096).contains(&n) && n <= buf.len());
                        match decode_message(buf.get(..n).unwrap(), opts) {
                            Ok(decoded) => round_trip(&decoded, opts),
                            Err(e) => {
                                let _ = e.notification();
                                break 'session;
                            }
                        }
                        buf.advance(n);
                        total += 1;
                    }
                    Ok(None) => {
                        assert!(
                            buf.len() < 4096,
                            "framing waits with {} octets buffered",
                            buf.len()
                        );
                        break;
                    }
                    Err(e) => {
                        let _ = e.notification();
                        break 'session;
                    }
                }
            }
        }
    }
    total
}
