//! The parts of ferrolb's benchmark programs (`src/bin/`: `ingest` for BGP, `controller-bench`
//! for LoadBalancer allocation) and what the criterion benchmarks in `benches/` share.

pub mod allocation;
pub mod ingest;
pub mod machine;
