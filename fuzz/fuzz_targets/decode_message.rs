//! Fuzz target: framing and decoding of single messages, with a re-encode round trip.

#![no_main]

#[path = "../check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check_message(data);
});
