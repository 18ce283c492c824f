//! The `show` commands: ask the BGP engine, the kernel and the configuration for their
//! state, turn it into the view model ([`crate::observe`]) and lay it out
//! ([`crate::render`]). Errors come back as the text FRR prints for them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bgp::{Family, Speaker};

use super::{Router, environment};
use crate::cli::command::{Afi, BfdView, BgpView, PrefixQuery, Show};
use crate::config::write::running_config;
use crate::observe;
use crate::render;
use crate::render::bgp::TableFooter;
use crate::view::{KernelRouteView, NeighborView, RouteView, VersionView};

/// The product line of `show version`.
const PRODUCT: &str = "mini-router";

/// Runs one `show` command.
pub(super) async fn render(router: &mut Router, show: &Show) -> Result<String, String> {
    match show {
        Show::Bgp { afi, view, json } => bgp(router, *afi, view, *json).await,
        Show::IpRoute {
            afi,
            bgp_only,
            json,
        } => ip_route(router, *afi, *bgp_only, *json).await,
        Show::Interface { brief } => {
            let list = crate::links::interfaces()
                .await
                .map_err(|e| format!("% {e}\n"))?;
            Ok(if *brief {
                render::system::interfaces_brief(&list)
            } else {
                render::system::interfaces(&list)
            })
        }
        Show::BfdPeers { view, json } => bfd_peers(router, *view, *json).await,
        Show::RunningConfig => Ok(running_config(&router.config, &environment())),
        Show::Version => Ok(render::system::version(&version(&router.config.hostname))),
    }
}

fn family(afi: Afi) -> Family {
    match afi {
        Afi::Ipv4 => Family::Ipv4Unicast,
        Afi::Ipv6 => Family::Ipv6Unicast,
    }
}

fn failed(err: bgp::SpeakerError) -> String {
    format!("% {err}\n")
}

async fn bgp(router: &Router, afi: Afi, view: &BgpView, json: bool) -> Result<String, String> {
    let Some(speaker) = router.reconciler.speaker() else {
        return Err(if json {
            "{}\n".to_owned()
        } else {
            "% BGP instance not found\n".to_owned()
        });
    };
    let instance = speaker.instance().await.map_err(failed)?;
    let header = observe::instance(&instance);
    let family = family(afi);
    match view {
        BgpView::Table => {
            let routes =
                routes(speaker, family, instance.router_id, instance.table_version).await?;
            Ok(if json {
                render::bgp::table_json(&header, &routes)
            } else {
                render::bgp::table(&header, &routes, TableFooter::Displayed)
            })
        }
        BgpView::Prefix(query) => {
            let mut found = match query {
                PrefixQuery::Prefix(prefix) => {
                    speaker.route(*prefix).await.map_err(failed)?.map(|r| {
                        observe::route(&r, instance.router_id, instance.table_version, Vec::new())
                    })
                }
                PrefixQuery::Address(address) => {
                    let all =
                        routes(speaker, family, instance.router_id, instance.table_version).await?;
                    render::bgp::longest_match(&all, *address).cloned()
                }
            };
            if let Some(route) = found.as_mut() {
                restart_timers(speaker, route).await?;
            }
            Ok(if json {
                render::bgp::prefix_detail_json(found.as_ref())
            } else {
                render::bgp::prefix_detail(found.as_ref())
            })
        }
        BgpView::Summary => {
            let neighbors = neighbors(speaker, &instance, family).await?;
            let entries = instance.rib.prefixes;
            Ok(if json {
                render::bgp::summary_json(&header, afi, entries, &neighbors, now_epoch())
            } else {
                render::bgp::summary(&header, afi, entries, &neighbors)
            })
        }
        BgpView::Neighbors(address) => {
            let mut list = neighbors(speaker, &instance, family).await?;
            if let Some(address) = address {
                list.retain(|n| n.address == *address);
                if list.is_empty() {
                    return Err(no_such_neighbor(json));
                }
            }
            Ok(if json {
                render::bgp::neighbors_json(&list)
            } else {
                render::bgp::neighbors(&list, &router.config.hostname)
            })
        }
        BgpView::ReceivedRoutes(address) | BgpView::AdvertisedRoutes(address) => {
            let peers = speaker.peers().await.map_err(failed)?;
            let Some(peer) = peers.iter().find(|p| p.config.address == *address) else {
                return Err(no_such_neighbor(json));
            };
            let all = routes(speaker, family, instance.router_id, instance.table_version).await?;
            let selected: Vec<RouteView> = match view {
                BgpView::ReceivedRoutes(_) => received_from(all, *address),
                _ => advertised_to(all, peer, &instance),
            };
            Ok(if json {
                render::bgp::table_json(&header, &selected)
            } else {
                render::bgp::table(&header, &selected, TableFooter::TotalPrefixes)
            })
        }
    }
}

/// Fills in, for the stale paths of `route`, when their peer's restart timer deletes them
/// (FRR prints it in the prefix's detail).
async fn restart_timers(speaker: &Speaker, route: &mut RouteView) -> Result<(), String> {
    if !route.paths.iter().any(|p| p.stale) {
        return Ok(());
    }
    let peers = speaker.peers().await.map_err(failed)?;
    for path in route.paths.iter_mut().filter(|p| p.stale) {
        path.stale_deleted_in = peers
            .iter()
            .find(|p| Some(p.config.address) == path.peer)
            .and_then(|p| {
                p.graceful_restart
                    .restart_deadline
                    .map(|at| at.saturating_duration_since(p.at).as_secs())
            });
    }
    Ok(())
}

/// `show bfd peers …`: the BFD sessions of the BGP neighbors, with the local address of
/// their BGP connection and the interface towards single-hop peers, as bfdd knows them from
/// bgpd and zebra.
async fn bfd_peers(router: &Router, view: BfdView, json: bool) -> Result<String, String> {
    let (sessions, peers) = match router.reconciler.speaker() {
        Some(speaker) => (
            speaker.bfd_sessions().await.map_err(failed)?,
            speaker.peers().await.map_err(failed)?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    let interfaces = crate::links::interfaces().await.unwrap_or_default();
    let now = std::time::Instant::now();
    let list: Vec<_> = sessions
        .iter()
        .map(|s| {
            let peer = s.spec.key.peer;
            let connection = peers
                .iter()
                .find(|p| p.config.address == peer)
                .and_then(|p| p.status.local.map(|l| l.ip().to_canonical()));
            let on_link = interfaces.iter().find_map(|i| {
                i.addresses
                    .iter()
                    .find(|a| a.contains(&peer) && a.addr() != peer)
                    .map(|a| (i.name.clone(), a.addr()))
            });
            let local = connection.or(on_link.as_ref().map(|(_, a)| *a));
            observe::bfd_peer(s, local, on_link.map(|(name, _)| name), now)
        })
        .collect();
    Ok(match (view, json) {
        (BfdView::Counters, false) => render::bfd::peers_counters(&list),
        (BfdView::Counters, true) => render::bfd::peers_counters_json(&list),
        (BfdView::Brief, false) => render::bfd::peers_brief(&list),
        (BfdView::Full, false) => render::bfd::peers(&list),
        (_, true) => render::bfd::peers_json(&list),
    })
}

fn no_such_neighbor(json: bool) -> String {
    if json {
        "{\n  \"warning\":\"No such neighbor in this view/vrf\"\n}\n".to_owned()
    } else {
        "% No such neighbor in this view/vrf\n".to_owned()
    }
}

async fn routes(
    speaker: &Speaker,
    family: Family,
    router_id: std::net::Ipv4Addr,
    version: u64,
) -> Result<Vec<RouteView>, String> {
    let routes = speaker.routes(family).await.map_err(failed)?;
    Ok(routes
        .iter()
        .map(|r| observe::route(r, router_id, version, Vec::new()))
        .collect())
}

async fn neighbors(
    speaker: &Speaker,
    instance: &bgp::InstanceView,
    family: Family,
) -> Result<Vec<NeighborView>, String> {
    let peers = speaker.peers().await.map_err(failed)?;
    Ok(peers
        .iter()
        .map(|p| observe::neighbor(p, instance.local_as, instance.router_id, family))
        .collect())
}

/// The paths a neighbor sent (its Adj-RIB-In), one per prefix.
fn received_from(all: Vec<RouteView>, address: IpAddr) -> Vec<RouteView> {
    all.into_iter()
        .filter_map(|mut r| {
            r.paths.retain(|p| p.peer == Some(address));
            (!r.paths.is_empty()).then_some(r)
        })
        .collect()
}

/// The best paths we send a neighbor, by the rules the engine advertises with: not back to
/// where they came from, no iBGP route to another iBGP peer, nothing while it is down.
fn advertised_to(
    all: Vec<RouteView>,
    peer: &bgp::PeerSummary,
    instance: &bgp::InstanceView,
) -> Vec<RouteView> {
    let Some(negotiated) = peer.status.negotiated.as_ref() else {
        return Vec::new();
    };
    let to_ibgp = negotiated.peer_as == peer.config.local_as.unwrap_or(instance.local_as);
    all.into_iter()
        .filter_map(|mut r| {
            r.paths.retain(|p| {
                p.best
                    && p.peer != Some(peer.config.address)
                    && !(to_ibgp && p.source == crate::view::PathSource::Internal)
            });
            (!r.paths.is_empty()).then_some(r)
        })
        .collect()
}

async fn ip_route(router: &Router, afi: Afi, bgp_only: bool, json: bool) -> Result<String, String> {
    let fib = match router.fib.as_ref() {
        Some(fib) => fib,
        None => &crate::fib::Fib::connect().map_err(|e| format!("% {e}\n"))?,
    };
    let kernel = fib.read_family(afi).await.map_err(|e| format!("% {e}\n"))?;
    let names: HashMap<u32, String> = fib
        .interface_names()
        .await
        .map_err(|e| format!("% {e}\n"))?;
    // The administrative distance of a BGP route tells eBGP (20) from iBGP (200).
    let ibgp: Vec<IpAddr> = match router.reconciler.speaker() {
        Some(speaker) => speaker
            .peers()
            .await
            .map_err(failed)?
            .iter()
            .filter(|p| {
                p.status.negotiated.as_ref().is_some_and(|n| {
                    n.peer_as
                        == p.config
                            .local_as
                            .unwrap_or(router.config.bgp.as_ref().map_or(0, |b| b.asn))
                })
            })
            .map(|p| p.config.address)
            .collect(),
        None => Vec::new(),
    };
    let views: Vec<KernelRouteView> = crate::fib::merge_by_prefix(kernel)
        .iter()
        .map(|route| {
            let internal = route
                .nexthops
                .iter()
                .any(|(gw, _, _)| gw.is_some_and(|g| ibgp.contains(&g)));
            route.to_view(&names, if internal { 200 } else { 20 })
        })
        .filter(|v| !bgp_only || v.protocol == crate::view::RouteProtocol::Bgp)
        .collect();
    Ok(if json {
        render::route::table_json(&views)
    } else {
        render::route::table(&views, afi)
    })
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn version(hostname: &str) -> VersionView {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    VersionView {
        product: PRODUCT.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        hostname: hostname.to_owned(),
        copyright: "Copyright the ferrolb authors. A BGP router for labs and tests, built on ferrolb's bgp crate.".to_owned(),
        kernel,
        build: vec![
            "--with-bgp".to_owned(),
            "--with-netlink-fib".to_owned(),
            format!("--target={}-linux", std::env::consts::ARCH),
        ],
    }
}
