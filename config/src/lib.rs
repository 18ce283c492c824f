//! The MetalLB configuration API (`metallb.io` CRDs and the legacy `config` ConfigMap).
//!
//! Not implemented yet: this crate is filled by the controller/speaker issues. It holds no
//! types today so that nothing can depend on a schema that does not validate anything.
