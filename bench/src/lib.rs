//! Shared inputs for the benchmarks in `benches/`.
