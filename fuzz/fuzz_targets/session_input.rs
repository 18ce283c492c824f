//! Fuzz target: a byte stream read in chunks and framed/decoded as the session reader does.

#![no_main]

#[path = "../check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check_stream(data);
});
