//! The ferrolb controller as a library: the pure decisions (`allocator`, `service`), the
//! engine that owns them, and the thin Kubernetes shell (`watch`, `caches`, `writer`,
//! `status`, `reconcile`; Events through `lb_daemon::events`) that the `controller` binary runs. Keeping the decisions
//! apart from the I/O lets them be tested as plain functions over plain data, the way
//! MetalLB tests its `internal/allocator`.

pub mod allocator;
pub mod caches;
pub mod engine;
pub mod metrics;
pub mod reconcile;
pub mod service;
pub mod status;
pub mod watch;
pub mod writer;
