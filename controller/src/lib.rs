//! The ferrolb controller as a library: the pure decisions the `controller` binary wires to
//! the Kubernetes API. Keeping them here, apart from the binary's I/O, lets them be tested as
//! plain functions over plain data, the way MetalLB tests its `internal/allocator`.

pub mod allocator;
