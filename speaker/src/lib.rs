//! The ferrolb speaker as a library: the pure decisions (`node`, `peers`, `announce`) and the
//! thin shell around them (`watch`, `reconcile`, `status`, `metrics`) that the `speaker`
//! binary runs. Decisions are plain functions over plain data, tested with tables, as
//! MetalLB's speaker separates `bgpController` from its Kubernetes client.

pub mod announce;
pub mod node;
pub mod peers;

#[cfg(test)]
mod testing;
