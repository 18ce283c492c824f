//! The parts of ferrolb's benchmark programs (`src/bin/`: `ingest` for BGP, `controller-bench`
//! for LoadBalancer allocation, `speaker-bench` for announcements) and what the criterion
//! benchmarks in `benches/` share.

pub mod allocation;
pub mod announcement;
pub mod ingest;
pub mod k8s;
pub mod machine;
