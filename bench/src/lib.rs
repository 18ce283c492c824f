//! Shared inputs for the benchmarks in `benches/`.

pub mod ingest;
