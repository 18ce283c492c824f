//! What both MetalLB daemons read the same way on a Service: the pool annotation the
//! controller writes and the speaker reads, and which Services a `--lb-class` leaves alone.

use k8s_openapi::api::core::v1::Service;

/// `metallb.io/ip-allocated-from-pool`: written by the controller, the pool an IP came from.
pub const ANNOTATION_ALLOCATED_FROM_POOL: &str = "metallb.io/ip-allocated-from-pool";
/// The same under MetalLB's first annotation prefix, still read.
pub const DEPRECATED_ALLOCATED_FROM_POOL: &str = "metallb.universe.tf/ip-allocated-from-pool";

/// Whether a daemon must leave the Service alone because of its `spec.loadBalancerClass`
/// (MetalLB's `filterByLoadBalancerClass`): without `--lb-class`, only Services without a
/// class are ours; with it, only Services of exactly that class.
pub fn filtered_by_class(svc: &Service, lb_class: Option<&str>) -> bool {
    let class = svc
        .spec
        .as_ref()
        .and_then(|s| s.load_balancer_class.as_deref());
    match (class, lb_class) {
        (None, None) => false,
        (None, Some(_)) => true,
        (Some(c), wanted) => Some(c) != wanted,
    }
}

/// The pool the controller recorded for the Service's addresses, if any.
pub fn allocated_from_pool(svc: &Service) -> Option<&str> {
    let annotations = svc.metadata.annotations.as_ref()?;
    annotations
        .get(ANNOTATION_ALLOCATED_FROM_POOL)
        .or_else(|| annotations.get(DEPRECATED_ALLOCATED_FROM_POOL))
        .map(String::as_str)
}
