//! One Service → what the controller does about it: the pure half of MetalLB's
//! `SetBalancer`/`convergeBalancer` (controller/main.go, controller/service.go).
//!
//! [`set_balancer`] takes the Service as read from the apiserver, the allocator and the
//! current configuration, and returns the Service's new status and annotations (if they
//! change), the Events to emit and how the caller should go on ([`Sync`]). No I/O here: the
//! reconcile loop reads, calls this and writes, so every rule is a table test.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Service, ServiceStatus};

use crate::allocator::{
    self, Allocator, FamilyPolicy, GoQuoted, IpFamily, Port, ServiceFamily, ServiceInfo, ServiceKey,
};

pub use lb_config::service::{
    ANNOTATION_ALLOCATED_FROM_POOL, DEPRECATED_ALLOCATED_FROM_POOL, filtered_by_class,
};

/// `metallb.io/address-pool`: the pool a Service asks for.
pub const ANNOTATION_ADDRESS_POOL: &str = "metallb.io/address-pool";
/// `metallb.io/loadBalancerIPs`: the addresses a Service asks for, comma-separated.
pub const ANNOTATION_LOAD_BALANCER_IPS: &str = "metallb.io/loadBalancerIPs";
/// `metallb.io/allow-shared-ip`: the sharing key of Services that may share an address.
pub const ANNOTATION_ALLOW_SHARED_IP: &str = "metallb.io/allow-shared-ip";
/// The prefix of MetalLB's first annotations, still honoured (with a warning Event).
pub const DEPRECATED_PREFIX: &str = "metallb.universe.tf";

const DEPRECATED_ADDRESS_POOL: &str = "metallb.universe.tf/address-pool";
const DEPRECATED_LOAD_BALANCER_IPS: &str = "metallb.universe.tf/loadBalancerIPs";
const DEPRECATED_ALLOW_SHARED_IP: &str = "metallb.universe.tf/allow-shared-ip";

/// How the reconcile loop goes on after one Service (MetalLB's `SyncState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// Done; nothing else to do.
    Success,
    /// Failed in a way a retry may fix (the write failed): retry with back-off.
    Error,
    /// Failed in a way only a change can fix (no address free, bad annotation): wait for one.
    ErrorNoRetry,
    /// This change may unblock or affect others (an address was freed, a shared allocation
    /// changed): process every Service again.
    ReprocessAll,
}

/// Whether an Event is informational or a warning (Kubernetes Event `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `Normal` (MetalLB's `Infof`).
    Normal,
    /// `Warning` (MetalLB's `Errorf`).
    Warning,
}

/// An Event to publish on the Service, with MetalLB's reason and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    /// Normal or Warning.
    pub kind: EventType,
    /// MetalLB's reason, e.g. `IPAllocated`, `AllocationFailed`.
    pub reason: &'static str,
    /// The message, as MetalLB words it.
    pub message: String,
}

/// The parts of a Service the controller writes, when they differ from what was read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceUpdate {
    /// The new `status.loadBalancer`, when it changed.
    pub status: Option<LoadBalancerStatus>,
    /// The new annotations (all of them), when they changed.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// What [`set_balancer`] decided for one Service.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// How to go on.
    pub sync: Sync,
    /// What to write back, if anything changed.
    pub update: Option<ServiceUpdate>,
    /// Events to publish on the Service, in order.
    pub events: Vec<ServiceEvent>,
}

/// The key MetalLB uses for a Service: `namespace/name`.
pub fn service_key(svc: &Service) -> ServiceKey {
    ServiceKey::new(
        svc.metadata.namespace.as_deref().unwrap_or_default(),
        svc.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Handles one Service (or its deletion, `svc: None`), as MetalLB's `SetBalancer`.
///
/// `have_config` is false until a configuration was loaded: Services are then left as they
/// are. `namespace_labels` are the labels of the Service's namespace (for pools'
/// `namespaceSelectors`).
pub fn set_balancer(
    alloc: &mut Allocator,
    have_config: bool,
    key: &ServiceKey,
    svc: Option<&Service>,
    namespace_labels: &BTreeMap<String, String>,
) -> Outcome {
    let mut events = Vec::new();
    let Some(original) = svc else {
        let sync = if alloc.unassign(key) {
            tracing::info!(event = "serviceDeleted", service = %key, "service deleted");
            Sync::ReprocessAll
        } else {
            Sync::Success
        };
        return Outcome {
            sync,
            update: None,
            events,
        };
    };
    if !have_config {
        tracing::debug!(event = "noConfig", service = %key, "not processing, still waiting for config");
        return Outcome {
            sync: Sync::Success,
            update: None,
            events,
        };
    }

    let prev_ips = alloc.ips(key).map(<[IpAddr]>::to_vec).unwrap_or_default();
    // MetalLB compares the keys as text, "" when there is no allocation: allocating a
    // Service that shares nothing changes nothing for the others.
    let prev_alloc_key = alloc.allocation_key(key).cloned().unwrap_or_default();

    let mut state = Converging::new(original, namespace_labels);
    let mut sync = match state.converge(alloc, key, &mut events) {
        Ok(()) => Sync::Success,
        Err(Unconverged) => Sync::ErrorNoRetry,
    };
    if alloc.allocation_key(key).cloned().unwrap_or_default() != prev_alloc_key {
        tracing::debug!(event = "allocation key changed", service = %key, "allocation changed for shared service, reprocessing");
        sync = Sync::ReprocessAll;
    }

    let old_status = current_lb_status(original);
    let old_annotations = original.metadata.annotations.clone().unwrap_or_default();
    let status_changed = !same_status(&state.status, &old_status);
    if !status_changed && state.annotations == old_annotations {
        tracing::debug!(event = "noChange", service = %key, "service converged, no change");
        return Outcome {
            sync,
            update: None,
            events,
        };
    }

    for annotation in old_annotations
        .keys()
        .filter(|k| k.starts_with(DEPRECATED_PREFIX))
    {
        tracing::warn!(event = "deprecatedAnnotation", annotation = annotation.as_str(), service = %key,
            "The used annotation is deprecated. Support might get removed in future versions");
        events.push(warning(
            "deprecatedAnnotation",
            format!("Service uses deprecated annotation {annotation}"),
        ));
    }

    if !prev_ips.is_empty() && alloc.pool(key).is_none() && alloc.pool_for_ips(&prev_ips).is_some()
    {
        tracing::info!(event = "serviceUpdated", service = %key, "removed loadbalancer from service, services will be reprocessed");
        sync = Sync::ReprocessAll;
    }

    let update = ServiceUpdate {
        status: status_changed.then(|| state.status.clone()),
        annotations: (state.annotations != old_annotations).then(|| state.annotations.clone()),
    };
    Outcome {
        sync,
        update: Some(update),
        events,
    }
}

/// Convergence stopped without an address; MetalLB's `ErrConverge`.
#[derive(Debug)]
struct Unconverged;

/// The Service's fields that convergence works on (MetalLB mutates a deep copy).
struct Converging<'a> {
    svc: &'a Service,
    info: ServiceInfo,
    status: LoadBalancerStatus,
    annotations: BTreeMap<String, String>,
}

impl<'a> Converging<'a> {
    fn new(svc: &'a Service, namespace_labels: &BTreeMap<String, String>) -> Self {
        Converging {
            svc,
            info: service_info(svc, namespace_labels),
            status: current_lb_status(svc),
            annotations: svc.metadata.annotations.clone().unwrap_or_default(),
        }
    }

    fn annotation(&self, stable: &str, deprecated: &str) -> Option<&str> {
        annotation(&self.annotations, stable, deprecated)
    }

    /// Forgets the Service's allocation and everything the controller wrote.
    fn clear(&mut self, alloc: &mut Allocator, key: &ServiceKey) {
        alloc.unassign(key);
        self.annotations.remove(ANNOTATION_ALLOCATED_FROM_POOL);
        self.annotations.remove(DEPRECATED_ALLOCATED_FROM_POOL);
        self.status = LoadBalancerStatus::default();
    }

    /// MetalLB's `convergeBalancer`.
    fn converge(
        &mut self,
        alloc: &mut Allocator,
        key: &ServiceKey,
        events: &mut Vec<ServiceEvent>,
    ) -> Result<(), Unconverged> {
        let spec = self.svc.spec.clone().unwrap_or_default();
        if spec.type_.as_deref() != Some("LoadBalancer") {
            tracing::debug!(event = "clearAssignment", reason = "notLoadBalancer", service = %key, "not a LoadBalancer");
            self.clear(alloc, key);
            return Ok(());
        }
        if !alloc.has_pools() {
            tracing::debug!(event = "clearAssignment", reason = "noConfig", service = %key, "pools are empty");
            self.clear(alloc, key);
            return Err(Unconverged);
        }
        let cluster_ips = cluster_ips(self.svc);
        if cluster_ips.is_empty() {
            tracing::info!(event = "clearAssignment", reason = "noClusterIPs", service = %key, "No ClusterIPs");
            self.clear(alloc, key);
            return Err(Unconverged);
        }
        let policy = spec.ip_family_policy.as_deref().unwrap_or("SingleStack");
        if policy == "RequireDualStack" && cluster_ips.len() < 2 {
            tracing::error!(event = "clearAssignment", reason = "requires dual stack but clusterips are not dual stack", service = %key);
            events.push(warning(
                "not enough clusterips",
                format!(
                    "Service requires dual stack but not enough clusterips {}",
                    go_list(&cluster_ips)
                ),
            ));
            self.clear(alloc, key);
            return Err(Unconverged);
        }

        let mut lb_ips: Vec<IpAddr> = self
            .status
            .ingress
            .iter()
            .flatten()
            .filter_map(|i| i.ip.as_deref())
            .filter_map(|ip| ip.parse().ok())
            .collect();
        if lb_ips.is_empty() {
            self.clear(alloc, key);
        } else {
            let Ok(cluster_family) = family_of_strings(&cluster_ips) else {
                events.push(warning(
                    "noclusterIPsIPFamily",
                    format!(
                        "Failed to retrieve ClusterIPs IPFamily for {} : invalid cluster IPs",
                        go_list(&cluster_ips)
                    ),
                ));
                return Err(Unconverged);
            };
            let lb_family = family_of(&lb_ips);
            if lb_family.is_none() {
                events.push(warning(
                    "nolbIPsIPFamily",
                    format!(
                        "Failed to retrieve LBIPs IPFamily for {}",
                        go_quoted_list(&lb_ips)
                    ),
                ));
            }
            if family_changed(lb_family, cluster_family, policy) {
                self.clear(alloc, key);
                lb_ips.clear();
            }
        }

        let ports = ports(self.svc);
        let sharing = sharing_key(&self.annotations).map(str::to_owned);
        let backend = backend_key(self.svc);
        if !lb_ips.is_empty() {
            if let Err(err) = alloc.assign(
                key,
                &self.info,
                &lb_ips,
                &ports,
                sharing.as_deref(),
                &backend,
            ) {
                tracing::info!(event = "clearAssignment", error = %err, service = %key, "current IP not allowed by config, clearing");
                events.push(normal(
                    "ClearAssignment",
                    format!("current IP for {} not allowed by config, will attempt for new IP assignment: {err}", GoQuoted(key.as_str())),
                ));
                self.clear(alloc, key);
                lb_ips.clear();
            }
            let desired_pool = self
                .annotation(ANNOTATION_ADDRESS_POOL, DEPRECATED_ADDRESS_POOL)
                .map(str::to_owned);
            if let Some(pool) =
                desired_pool.filter(|p| !lb_ips.is_empty() && alloc.pool(key) != Some(p.as_str()))
            {
                tracing::info!(event = "clearAssignment", reason = "differentPoolRequested", pool = pool.as_str(), service = %key,
                    "user requested a different pool than the one currently assigned");
                self.clear(alloc, key);
                lb_ips.clear();
            }
            match desired_ips(self.svc, &self.annotations) {
                Err(err) => {
                    tracing::error!(event = "loadbalancerIP", error = %err, service = %key, "invalid requested loadbalancer IPs");
                    events.push(warning(
                        "LoadBalancerFailed",
                        format!("invalid requested loadbalancer IPs: {err}"),
                    ));
                    return Err(Unconverged);
                }
                Ok(Some((desired, _))) if !same_ips(&lb_ips, &desired) => {
                    tracing::info!(event = "clearAssignment", reason = "differentIPRequested", service = %key,
                        "user requested a different IP than the one currently assigned");
                    self.clear(alloc, key);
                    lb_ips.clear();
                }
                Ok(_) => {}
            }
        }

        if lb_ips.len() == 1 && policy == "PreferDualStack" {
            tracing::info!(event = "tryAssignAdditionalIP", service = %key, "familyPolicy is PreferDualStack, trying to assign additional ip");
            let pool = alloc.pool(key).unwrap_or_default().to_owned();
            match alloc.allocate_additional_family(
                key,
                &self.info,
                lb_ips[0],
                &pool,
                &ports,
                sharing.as_deref(),
                &backend,
            ) {
                Ok(ip) => {
                    lb_ips.push(ip);
                    tracing::info!(event = "ipAllocated", ip = %ip, service = %key, "Additional IP address assigned by controller");
                    events.push(normal(
                        "IPAllocated",
                        format!("Assigned additional IP {}", GoQuoted(&ip)),
                    ));
                }
                Err(err) => events.push(normal(
                    "AdditionalAssignFailed",
                    format!("cannot assign additional IP in PreferDualStack: {err}"),
                )),
            }
        }

        if lb_ips.is_empty() {
            match self.allocate(
                alloc,
                key,
                &cluster_ips,
                &ports,
                sharing.as_deref(),
                &backend,
            ) {
                Ok(ips) => {
                    tracing::info!(event = "ipAllocated", ip = %go_quoted_list(&ips), service = %key, "IP address assigned by controller");
                    events.push(normal(
                        "IPAllocated",
                        format!("Assigned IP {}", go_quoted_list(&ips)),
                    ));
                    lb_ips = ips;
                }
                Err(err) => {
                    tracing::error!(op = "allocateIPs", error = %err, service = %key, "IP allocation failed");
                    events.push(warning(
                        "AllocationFailed",
                        format!(
                            "Failed to allocate IP for {}: {err}",
                            GoQuoted(key.as_str())
                        ),
                    ));
                    return Err(Unconverged);
                }
            }
        }

        let Some(pool) = alloc.pool(key).map(str::to_owned) else {
            tracing::error!(bug = "true", service = %key, "internal error: allocated IP has no matching address pool");
            events.push(warning(
                "InternalError",
                "allocated an IP that has no pool".to_owned(),
            ));
            self.clear(alloc, key);
            return Err(Unconverged);
        };
        self.status = LoadBalancerStatus {
            ingress: Some(
                lb_ips
                    .iter()
                    .map(|ip| LoadBalancerIngress {
                        ip: Some(ip.to_string()),
                        ..Default::default()
                    })
                    .collect(),
            ),
        };
        self.annotations
            .insert(ANNOTATION_ALLOCATED_FROM_POOL.to_owned(), pool);
        self.annotations.remove(DEPRECATED_ALLOCATED_FROM_POOL);
        Ok(())
    }

    /// MetalLB's `allocateIPs`: requested addresses, else the requested pool, else any pool.
    fn allocate(
        &self,
        alloc: &mut Allocator,
        key: &ServiceKey,
        cluster_ips: &[String],
        ports: &[Port],
        sharing: Option<&str>,
        backend: &str,
    ) -> Result<Vec<IpAddr>, String> {
        let family = family_of_strings(cluster_ips).map_err(|()| {
            format!(
                "invalid ClusterIPs {}, can't determine family",
                go_list(cluster_ips)
            )
        })?;
        let desired_pool = self.annotation(ANNOTATION_ADDRESS_POOL, DEPRECATED_ADDRESS_POOL);
        if let Some((ips, ips_family)) = desired_ips(self.svc, &self.annotations)? {
            if ips_family != Some(family) {
                return Err(format!(
                    "requested loadBalancer IP(s) {} does not match the ipFamily of the service",
                    go_quoted_list(&ips)
                ));
            }
            alloc
                .assign(key, &self.info, &ips, ports, sharing, backend)
                .map_err(|e| e.to_string())?;
            if let Some(pool) = desired_pool.filter(|p| alloc.pool(key) != Some(*p)) {
                alloc.unassign(key);
                return Err(format!(
                    "requested loadBalancer IP(s) {} is not compatible with requested address pool {pool}",
                    go_quoted_list(&ips)
                ));
            }
            return Ok(ips);
        }
        match desired_pool {
            Some(pool) => {
                alloc.allocate_from_pool(key, &self.info, family, pool, ports, sharing, backend)
            }
            None => alloc.allocate(key, &self.info, family, ports, sharing, backend),
        }
        .map_err(|e| e.to_string())
    }
}

fn normal(reason: &'static str, message: String) -> ServiceEvent {
    ServiceEvent {
        kind: EventType::Normal,
        reason,
        message,
    }
}

fn warning(reason: &'static str, message: String) -> ServiceEvent {
    ServiceEvent {
        kind: EventType::Warning,
        reason,
        message,
    }
}

fn annotation<'m>(
    annotations: &'m BTreeMap<String, String>,
    stable: &str,
    deprecated: &str,
) -> Option<&'m str> {
    annotations
        .get(stable)
        .or_else(|| annotations.get(deprecated))
        .map(String::as_str)
}

/// The Service's sharing key (`allow-shared-ip`), the stable spelling first.
pub fn sharing_key(annotations: &BTreeMap<String, String>) -> Option<&str> {
    annotation(
        annotations,
        ANNOTATION_ALLOW_SHARED_IP,
        DEPRECATED_ALLOW_SHARED_IP,
    )
}

/// MetalLB's backend key of the Service (see [`allocator::backend_key`]).
pub fn backend_key(svc: &Service) -> String {
    let Some(spec) = &svc.spec else {
        return String::new();
    };
    let local = spec.external_traffic_policy.as_deref() == Some("Local");
    allocator::backend_key(local, &spec.selector.clone().unwrap_or_default())
}

/// The Service's ports as the allocator compares them for sharing.
pub fn ports(svc: &Service) -> Vec<Port> {
    svc.spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| Port {
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
            port: p.port,
        })
        .collect()
}

/// What pool selection needs to know about the Service.
pub fn service_info(svc: &Service, namespace_labels: &BTreeMap<String, String>) -> ServiceInfo {
    ServiceInfo {
        namespace: svc.metadata.namespace.clone().unwrap_or_default(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        labels: svc.metadata.labels.clone().unwrap_or_default(),
        namespace_labels: namespace_labels.clone(),
        family_policy: match svc
            .spec
            .as_ref()
            .and_then(|s| s.ip_family_policy.as_deref())
        {
            Some("PreferDualStack") => FamilyPolicy::PreferDualStack,
            Some("RequireDualStack") => FamilyPolicy::RequireDualStack,
            _ => FamilyPolicy::SingleStack,
        },
        primary_family: match svc
            .spec
            .as_ref()
            .and_then(|s| s.ip_families.as_ref())
            .and_then(|f| f.first())
            .map(String::as_str)
        {
            Some("IPv6") => IpFamily::V6,
            _ => IpFamily::V4,
        },
    }
}

/// Whether writing `desired` would leave `current` as it is. The apiserver fills in
/// `ipMode: VIP` for an ingress IP written without one (LoadBalancerIPMode, GA in 1.32), so an
/// ingress that differs only by that default is the same. MetalLB compares the two as they
/// are, which costs a second, no-op status write for a Service handled again after its
/// address was written.
fn same_status(desired: &LoadBalancerStatus, current: &LoadBalancerStatus) -> bool {
    match (&desired.ingress, &current.ingress) {
        (Some(d), Some(c)) => {
            d.len() == c.len() && d.iter().zip(c).all(|(d, c)| same_ingress(d, c))
        }
        (d, c) => d == c,
    }
}

fn same_ingress(desired: &LoadBalancerIngress, current: &LoadBalancerIngress) -> bool {
    let defaulted = desired.ip.is_some()
        && desired.ip_mode.is_none()
        && current.ip_mode.as_deref() == Some("VIP");
    if defaulted {
        *desired
            == LoadBalancerIngress {
                ip_mode: None,
                ..current.clone()
            }
    } else {
        desired == current
    }
}

fn current_lb_status(svc: &Service) -> LoadBalancerStatus {
    svc.status
        .as_ref()
        .and_then(|s: &ServiceStatus| s.load_balancer.clone())
        .unwrap_or_default()
}

/// `spec.clusterIPs`, or `spec.clusterIP` when the list is not set (MetalLB's fallback).
fn cluster_ips(svc: &Service) -> Vec<String> {
    let Some(spec) = &svc.spec else {
        return Vec::new();
    };
    match (&spec.cluster_ips, &spec.cluster_ip) {
        (Some(ips), _) if !ips.is_empty() => ips.clone(),
        (_, Some(ip)) if !ip.is_empty() => vec![ip.clone()],
        _ => Vec::new(),
    }
}

fn family_of(ips: &[IpAddr]) -> Option<ServiceFamily> {
    ServiceFamily::for_addresses(ips)
}

fn family_of_strings(ips: &[String]) -> Result<ServiceFamily, ()> {
    let parsed: Vec<IpAddr> = ips
        .iter()
        .map(|s| s.parse().map_err(|_| ()))
        .collect::<Result<_, _>>()?;
    family_of(&parsed).ok_or(())
}

/// MetalLB's `serviceFamilyChanged`: whether the assigned addresses no longer fit the
/// Service's families (PreferDualStack may keep a single-family assignment).
fn family_changed(lb: Option<ServiceFamily>, cluster: ServiceFamily, policy: &str) -> bool {
    match lb {
        None => true,
        Some(lb) if lb == cluster => false,
        Some(_) => !(cluster == ServiceFamily::DualStack && policy == "PreferDualStack"),
    }
}

/// The addresses the Service asks for (`metallb.io/loadBalancerIPs` or
/// `spec.loadBalancerIP`) and their family; `None` when it asks for none.
fn desired_ips(
    svc: &Service,
    annotations: &BTreeMap<String, String>,
) -> Result<Option<Requested>, String> {
    let from_annotation = annotation(
        annotations,
        ANNOTATION_LOAD_BALANCER_IPS,
        DEPRECATED_LOAD_BALANCER_IPS,
    )
    .filter(|s| !s.is_empty());
    let from_spec = svc
        .spec
        .as_ref()
        .and_then(|s| s.load_balancer_ip.as_deref())
        .filter(|s| !s.is_empty());
    match (from_annotation, from_spec) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(format!(
            "service can not have both {ANNOTATION_LOAD_BALANCER_IPS} and svc.Spec.LoadBalancerIP"
        )),
        (Some(list), None) => {
            let ips = list
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse::<IpAddr>()
                        .map_err(|_| format!("invalid {ANNOTATION_LOAD_BALANCER_IPS}: {list:?}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let family = family_of(&ips);
            if family.is_none() {
                return Err(format!(
                    "IPFamilyForAddresses: invalid ips {}",
                    go_quoted_list(&ips)
                ));
            }
            Ok(Some((ips, family)))
        }
        (None, Some(ip)) => {
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| format!("invalid spec.loadBalancerIP {ip:?}"))?;
            Ok(Some((vec![ip], family_of(&[ip]))))
        }
    }
}

/// Addresses a Service asks for, and their family (`None` when they have none).
type Requested = (Vec<IpAddr>, Option<ServiceFamily>);

fn same_ips(a: &[IpAddr], b: &[IpAddr]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// A list as Go's `%q` prints a slice of addresses: `["198.51.100.0" "2001:db8::1"]`.
fn go_quoted_list(ips: &[IpAddr]) -> String {
    GoQuoted(&ips.to_vec()).to_string()
}

/// A list as Go's `%v` prints a slice of strings: `[10.96.0.10 fd00::10]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests;
