//! The workload: N Services of type LoadBalancer (the controller benchmark's Services,
//! `svc-00000`…), each made announceable by three writes — create the Service, write its
//! `status.loadBalancer.ingress` (the benchmark plays the controller, so no controller's
//! speed is in the figures, and both speakers get the same statuses), create its
//! EndpointSlice with one ready endpoint on each node — with at most `concurrency` Services
//! in flight at once. Then the same Services deleted, `concurrency` at a time.
//!
//! Service `i` gets the pool's address `i + 1` (so the first is never the network address);
//! the warm-up Service, outside the measured namespace, gets the pool's last-but-one.

use std::net::{IpAddr, Ipv4Addr};

use futures::{StreamExt, TryStreamExt};
use ipnet::{IpNet, Ipv4Net};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

use super::topology::NODES;
use crate::allocation::workload::{service, service_name};
use crate::k8s::{BenchError, Result, retrying, write_err};

/// The address of Service `i` in `pool`.
pub fn service_ip(pool: Ipv4Net, i: usize) -> Option<Ipv4Addr> {
    let offset = u32::try_from(i).ok()?.checked_add(1)?;
    let ip = u32::from(pool.network()).checked_add(offset)?;
    let ip = Ipv4Addr::from(ip);
    (ip < pool.broadcast() && pool.contains(&ip)).then_some(ip)
}

/// The warm-up Service's address in `pool`.
pub fn warmup_ip(pool: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(pool.broadcast()).saturating_sub(1))
}

/// The /32 a speaker announces for `ip`.
pub fn host_prefix(ip: Ipv4Addr) -> IpNet {
    IpNet::V4(Ipv4Net::from(ip))
}

/// Fails unless `pool` holds `count` Services and the warm-up one.
pub fn check_capacity(pool: Ipv4Net, count: usize) -> Result<()> {
    let last = count.checked_sub(1).and_then(|i| service_ip(pool, i));
    match last {
        Some(ip) if ip < warmup_ip(pool) => Ok(()),
        None if count == 0 => Ok(()),
        _ => Err(BenchError::WrongResult(format!(
            "the pool {pool} is too small for {count} Services and the warm-up one"
        ))),
    }
}

/// The pod address of Service `i`'s endpoint on node number `node`: 10.244.0.0/14 split
/// by node, unique per Service (the speakers only read the node name and conditions).
fn endpoint_ip(node: usize, i: usize) -> IpAddr {
    let base = u32::from(Ipv4Addr::new(10, 244, 0, 0));
    let offset = ((node as u32) << 16) | (i as u32 & 0xffff);
    IpAddr::V4(Ipv4Addr::from(base + offset))
}

/// Makes Service `name` in `namespace` announceable with address `ip`: the Service, its
/// status, its EndpointSlice with an endpoint on every node.
pub async fn create_announceable(
    client: &Client,
    namespace: &str,
    name: &str,
    index: usize,
    ip: Ipv4Addr,
) -> Result<()> {
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let svc = service(namespace, name)?;
    let post = PostParams::default();
    let patch = PatchParams::default();
    retrying(
        &format!("creating Service {namespace}/{name}"),
        Some(409),
        || services.create(&post, &svc),
    )
    .await?;
    let status = Patch::Merge(lab::objects::ingress_patch(&[IpAddr::V4(ip)]));
    retrying(
        &format!("writing the status of {namespace}/{name}"),
        None,
        || services.patch_status(name, &patch, &status),
    )
    .await?;
    let endpoints: Vec<(&str, IpAddr)> = NODES
        .iter()
        .enumerate()
        .map(|(n, (node, _))| (*node, endpoint_ip(n, index)))
        .collect();
    let slice = lab::objects::endpoint_slice(namespace, name, &endpoints)
        .map_err(write_err(format!("building the EndpointSlice of {name}")))?;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    retrying(
        &format!("creating the EndpointSlice of {namespace}/{name}"),
        Some(409),
        || slices.create(&post, &slice),
    )
    .await
}

/// Creates Services `0..count` in `namespace`, announceable, `concurrency` at a time;
/// returns when the last write has returned.
pub async fn create_all(
    client: &Client,
    namespace: &str,
    pool: Ipv4Net,
    count: usize,
    concurrency: usize,
) -> Result<()> {
    futures::stream::iter(0..count)
        .map(|i| async move {
            let ip = service_ip(pool, i).ok_or_else(|| {
                BenchError::WrongResult(format!("no address {i} in the pool {pool}"))
            })?;
            create_announceable(client, namespace, &service_name(i), i, ip).await
        })
        .buffer_unordered(concurrency.max(1))
        .try_for_each(|()| async { Ok(()) })
        .await
}

/// Deletes Services `0..count` of `namespace`, `concurrency` at a time (their EndpointSlices
/// stay: nothing garbage-collects them without kube-controller-manager, and a speaker
/// withdraws on the Service's delete alone); returns when the last delete has returned.
pub async fn delete_all(
    client: &Client,
    namespace: &str,
    count: usize,
    concurrency: usize,
) -> Result<()> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    let api = &api;
    let params = &DeleteParams::default();
    futures::stream::iter(0..count)
        .map(|i| async move {
            let name = service_name(i);
            retrying(
                &format!("deleting Service {namespace}/{name}"),
                Some(404),
                || api.delete(&name, params),
            )
            .await
        })
        .buffer_unordered(concurrency.max(1))
        .try_for_each(|()| async { Ok(()) })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Ipv4Net {
        "172.20.0.0/16"
            .parse()
            .unwrap_or_else(|_| Ipv4Net::default())
    }

    #[test]
    fn services_get_consecutive_addresses_after_the_network_address() {
        assert_eq!(service_ip(pool(), 0), Some(Ipv4Addr::new(172, 20, 0, 1)));
        assert_eq!(
            service_ip(pool(), 999),
            Some(Ipv4Addr::new(172, 20, 3, 232))
        );
        assert_eq!(warmup_ip(pool()), Ipv4Addr::new(172, 20, 255, 254));
    }

    #[test]
    fn a_pool_too_small_for_the_workload_and_the_warm_up_is_refused() {
        let small: Ipv4Net = "10.0.0.0/29".parse().unwrap_or_else(|_| Ipv4Net::default());
        // .1 to .5 for five Services, .6 for the warm-up, .7 is the broadcast address.
        assert!(check_capacity(small, 5).is_ok());
        assert!(check_capacity(small, 6).is_err());
        assert!(check_capacity(pool(), 1000).is_ok());
    }
}
