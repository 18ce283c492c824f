//! Replays every committed fuzz input (fuzz/corpus/*/*) through framing, decoding and the
//! re-encode round trip with the fuzzers' own assertions, so a regression found once stays
//! covered by `cargo test` without cargo-fuzz or a nightly toolchain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../fuzz/check.rs"]
mod check;

use std::fs;
use std::path::Path;

#[test]
fn every_committed_fuzz_input_decodes_without_panic_and_round_trips() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let targets = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("fuzz corpus {} is missing: {e}", root.display()));
    let mut files = 0;
    for target in targets {
        let target = target.unwrap().path();
        if !target.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&target).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let data = fs::read(&path).unwrap();
            // Both checks on every input: a message corpus is a fine stream and vice versa.
            check::check_message(&data);
            check::check_stream(&data);
            files += 1;
        }
    }
    assert!(files > 0, "fuzz corpus {} is empty", root.display());
}
