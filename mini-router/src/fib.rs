//! The kernel FIB over netlink: best paths installed as routes of protocol `bgp`
//! (RTPROT_BGP = 186, metric 20 as zebra uses), ECMP next hops for multipath, replaced on
//! change, removed on withdraw, all removed on exit; and the kernel's main table read back
//! for `show ip route`. Requests are pipelined (many in flight on one socket, acknowledged
//! out of order) so a full table goes in quickly. Without CAP_NET_ADMIN the kernel answers
//! EPERM, reported as [`FibError::PermissionDenied`] so the caller can warn once and run
//! RIB-only.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;

use futures::stream::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::link::LinkAttribute;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop,
    RouteProtocol as NlProto, RouteScope, RouteType,
};
use thiserror::Error;

use crate::cli::command::Afi;
use crate::view::{KernelRouteView, NexthopView, RouteProtocol};

/// The protocol number of BGP routes in the kernel (`proto bgp` in `ip route`).
pub const RTPROT_BGP: u8 = 186;

/// The route metric (priority) of installed routes, as zebra installs them.
pub const BGP_METRIC: u32 = 20;

/// Bytes of requests packed into one datagram of a batch.
const BATCH_BYTES: usize = 60 * 1024;

/// Why the kernel table could not be changed or read.
#[derive(Debug, Error)]
pub enum FibError {
    /// The netlink socket could not be opened.
    #[error("cannot open a netlink socket: {0}")]
    Socket(io::Error),
    /// The process lacks CAP_NET_ADMIN: routes stay in the RIB only.
    #[error("not permitted to change kernel routes (CAP_NET_ADMIN is missing): running RIB-only")]
    PermissionDenied,
    /// The kernel refused one route.
    #[error("kernel refused {action} {prefix}: {source}")]
    Refused {
        /// "install" or "remove".
        action: &'static str,
        /// The route's prefix.
        prefix: IpNet,
        /// The kernel's error.
        source: io::Error,
    },
    /// A route to install has no next hop.
    #[error("route {0} has no next hop")]
    NoNexthop(IpNet),
    /// A next hop of the other address family than the prefix.
    #[error("route {prefix}: next hop {nexthop} is not of the prefix's family")]
    FamilyMismatch {
        /// The prefix.
        prefix: IpNet,
        /// The offending next hop.
        nexthop: IpAddr,
    },
    /// Netlink failed in another way (socket closed, unexpected answer).
    #[error("netlink: {0}")]
    Netlink(String),
}

/// A best path as the kernel gets it: a prefix and its ECMP next hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibRoute {
    /// Destination.
    pub prefix: IpNet,
    /// Gateways (one, or several for multipath), resolved by the kernel to interfaces.
    pub nexthops: Vec<IpAddr>,
}

/// One change for [`Fib::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibChange {
    /// Install or replace a route.
    Install(FibRoute),
    /// Remove the route of a prefix.
    Remove(IpNet),
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// Routes installed or replaced.
    pub installed: usize,
    /// Routes removed.
    pub removed: usize,
    /// Changes the kernel refused (the others were applied).
    pub errors: Vec<FibError>,
}

/// A route of the kernel's main table, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination.
    pub prefix: IpNet,
    /// The kernel's protocol number (2 kernel, 3 boot, 4 static, 186 bgp, …).
    pub protocol: u8,
    /// Scope link (a directly connected subnet).
    pub link_scope: bool,
    /// Metric (priority).
    pub metric: u32,
    /// Next hops: (gateway, ifindex, weight).
    pub nexthops: Vec<(Option<IpAddr>, u32, u32)>,
    /// The nexthop object id, if the route uses one.
    pub nhid: Option<u32>,
}

impl KernelRoute {
    /// The `show ip route` view of this route; `names` maps ifindex to interface name and
    /// `distance` is the administrative distance for BGP routes (20 eBGP, 200 iBGP).
    pub fn to_view(&self, names: &HashMap<u32, String>, distance: u8) -> KernelRouteView {
        let protocol = match self.protocol {
            RTPROT_BGP => RouteProtocol::Bgp,
            2 if self.link_scope => RouteProtocol::Connected,
            4 => RouteProtocol::Static,
            _ => RouteProtocol::Kernel,
        };
        let bgp = protocol == RouteProtocol::Bgp;
        KernelRouteView {
            prefix: self.prefix,
            protocol,
            distance: if bgp { distance } else { 0 },
            metric: if bgp { 0 } else { self.metric },
            nexthops: self
                .nexthops
                .iter()
                .map(|(gw, ifindex, weight)| NexthopView {
                    gateway: *gw,
                    interface: names
                        .get(ifindex)
                        .cloned()
                        .unwrap_or_else(|| format!("if{ifindex}")),
                    ifindex: *ifindex,
                    weight: bgp.then_some(*weight),
                })
                .collect(),
            uptime: std::time::Duration::ZERO,
            table: 254,
            nexthop_group: self.nhid,
        }
    }
}

/// A netlink connection to the kernel routing table.
pub struct Fib {
    handle: rtnetlink::Handle,
}

impl Fib {
    /// Opens the netlink socket; its I/O task runs on the current tokio runtime.
    pub fn connect() -> Result<Fib, FibError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(FibError::Socket)?;
        tokio::spawn(connection);
        Ok(Fib { handle })
    }

    /// Installs or replaces one route.
    pub async fn install(&self, route: &FibRoute) -> Result<(), FibError> {
        let message = route_message(route)?;
        self.handle
            .route()
            .add(message)
            .replace()
            .execute()
            .await
            .map_err(|e| kernel_error(e, "install", route.prefix))
    }

    /// Removes our route of `prefix`. A route already gone is not an error.
    pub async fn remove(&self, prefix: IpNet) -> Result<(), FibError> {
        let mut message = base_message(prefix);
        message.header.scope = RouteScope::NoWhere;
        match self.handle.route().del(message).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == libc_esrch() => Ok(()),
            Err(e) => Err(kernel_error(e, "remove", prefix)),
        }
    }

    /// Applies many changes at once: the requests are packed into few large datagrams on
    /// a socket of their own (the kernel handles each datagram's routes in one system call
    /// and answers only the failures), which is what makes a full table fast. A permission
    /// error stops the batch (every other change would fail the same way); other refusals
    /// are collected and the rest applied.
    pub async fn apply(&self, changes: Vec<FibChange>) -> Result<BatchReport, FibError> {
        tokio::task::spawn_blocking(move || batch::apply(&changes))
            .await
            .map_err(|e| FibError::Netlink(format!("batch task: {e}")))?
    }

    /// Removes every route of protocol bgp from the main table (on exit, and at start to
    /// clear what a crashed run left). Returns how many were removed.
    pub async fn remove_all(&self) -> Result<usize, FibError> {
        let ours: Vec<IpNet> = self
            .read_routes()
            .await?
            .into_iter()
            .filter(|r| r.protocol == RTPROT_BGP)
            .map(|r| r.prefix)
            .collect();
        let changes = ours.into_iter().map(FibChange::Remove).collect();
        let report = self.apply(changes).await?;
        match report.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(report.removed),
        }
    }

    /// Brings our routes in the kernel to exactly `want`, whatever happened before (changes
    /// lost while the BGP events lagged, a BGP instance replaced): reads the kernel's BGP
    /// routes back and applies only the difference ([`resync_changes`]).
    pub async fn resync(&self, want: &[FibRoute]) -> Result<BatchReport, FibError> {
        let ours: Vec<KernelRoute> = self
            .read_routes()
            .await?
            .into_iter()
            .filter(|r| r.protocol == RTPROT_BGP)
            .collect();
        self.apply(resync_changes(merge_by_prefix(ours), want))
            .await
    }

    /// The kernel's main table, IPv4 then IPv6, local and multicast routes left out.
    pub async fn read_routes(&self) -> Result<Vec<KernelRoute>, FibError> {
        let mut out = self.read_family(Afi::Ipv4).await?;
        out.extend(self.read_family(Afi::Ipv6).await?);
        Ok(out)
    }

    /// The kernel's main table of one address family, local and multicast routes left out.
    pub async fn read_family(&self, afi: Afi) -> Result<Vec<KernelRoute>, FibError> {
        let mut query = RouteMessage::default();
        query.header.address_family = match afi {
            Afi::Ipv4 => AddressFamily::Inet,
            Afi::Ipv6 => AddressFamily::Inet6,
        };
        let messages: Vec<RouteMessage> = self
            .handle
            .route()
            .get(query)
            .execute()
            .try_collect()
            .await
            .map_err(|e| match e {
                rtnetlink::Error::NetlinkError(m) if m.raw_code().abs() == libc_eperm() => {
                    FibError::PermissionDenied
                }
                other => FibError::Netlink(other.to_string()),
            })?;
        Ok(messages.iter().filter_map(parse_route).collect())
    }

    /// Interface names by index, for showing routes.
    pub async fn interface_names(&self) -> Result<HashMap<u32, String>, FibError> {
        let links: Vec<_> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| FibError::Netlink(e.to_string()))?;
        Ok(links
            .iter()
            .filter_map(|l| {
                l.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some((l.header.index, n.clone())),
                    _ => None,
                })
            })
            .collect())
    }
}

fn libc_eperm() -> i32 {
    1
}

fn libc_esrch() -> i32 {
    3
}

/// Maps a netlink error to ours: EPERM (and EACCES) mean no CAP_NET_ADMIN.
fn kernel_error(e: rtnetlink::Error, action: &'static str, prefix: IpNet) -> FibError {
    match e {
        rtnetlink::Error::NetlinkError(m) => {
            let code = m.raw_code().abs();
            if code == libc_eperm() || code == 13 {
                FibError::PermissionDenied
            } else {
                FibError::Refused {
                    action,
                    prefix,
                    source: io::Error::from_raw_os_error(code),
                }
            }
        }
        other => FibError::Netlink(other.to_string()),
    }
}

/// The common part of our route messages: main table, protocol bgp, the destination.
fn base_message(prefix: IpNet) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = match prefix {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    };
    m.header.destination_prefix_length = prefix.prefix_len();
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = NlProto::Bgp;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(RouteAttribute::Destination(prefix.trunc().addr().into()));
    m.attributes.push(RouteAttribute::Priority(BGP_METRIC));
    m
}

/// The RTM_NEWROUTE message for a route: one gateway, or RTA_MULTIPATH for several.
pub fn route_message(route: &FibRoute) -> Result<RouteMessage, FibError> {
    let prefix = route.prefix;
    if let Some(nh) = route
        .nexthops
        .iter()
        .find(|nh| nh.is_ipv4() != prefix.addr().is_ipv4())
    {
        return Err(FibError::FamilyMismatch {
            prefix,
            nexthop: *nh,
        });
    }
    let mut m = base_message(prefix);
    match route.nexthops.as_slice() {
        [] => return Err(FibError::NoNexthop(prefix)),
        [one] => m.attributes.push(RouteAttribute::Gateway((*one).into())),
        many => {
            let hops = many
                .iter()
                .map(|gw| {
                    let mut hop = RouteNextHop::default();
                    hop.attributes.push(RouteAttribute::Gateway((*gw).into()));
                    hop
                })
                .collect();
            m.attributes.push(RouteAttribute::MultiPath(hops));
        }
    }
    Ok(m)
}

fn address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// A route of the main table from a kernel answer; None for other tables and for local,
/// broadcast and multicast routes.
fn parse_route(m: &RouteMessage) -> Option<KernelRoute> {
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) || m.header.kind != RouteType::Unicast {
        return None;
    }
    let mut dest: Option<IpAddr> = None;
    let mut gateway: Option<IpAddr> = None;
    let mut oif = 0;
    let mut metric = 0;
    let mut nhid = None;
    let mut multipath: Vec<(Option<IpAddr>, u32, u32)> = Vec::new();
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => dest = address(d),
            RouteAttribute::Gateway(g) => gateway = address(g),
            RouteAttribute::Oif(i) => oif = *i,
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::NhId(id) => nhid = Some(*id),
            RouteAttribute::MultiPath(hops) => {
                for h in hops {
                    let gw = h.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => address(g),
                        _ => None,
                    });
                    multipath.push((gw, h.interface_index, u32::from(h.hops) + 1));
                }
            }
            _ => {}
        }
    }
    let len = m.header.destination_prefix_length;
    let prefix = match (dest, m.header.address_family) {
        (Some(d), _) => IpNet::new(d, len).ok()?,
        (None, AddressFamily::Inet) => IpNet::new(IpAddr::V4(0.into()), 0).ok()?,
        (None, AddressFamily::Inet6) => IpNet::new(IpAddr::V6(0.into()), 0).ok()?,
        _ => return None,
    };
    // The kernel's IPv6 multicast and link-local routes are not worth showing.
    if let IpAddr::V6(v6) = prefix.addr()
        && (v6.segments()[0] & 0xff00 == 0xff00)
    {
        return None;
    }
    let nexthops = if multipath.is_empty() {
        vec![(gateway, oif, 1)]
    } else {
        multipath
    };
    Some(KernelRoute {
        prefix,
        protocol: u8::from(m.header.protocol),
        link_scope: m.header.scope == RouteScope::Link,
        metric,
        nexthops,
        nhid,
    })
}

/// Groups kernel routes by prefix (IPv6 ECMP routes may come back as several messages).
pub fn merge_by_prefix(routes: Vec<KernelRoute>) -> Vec<KernelRoute> {
    let mut merged: BTreeMap<(u8, IpNet), KernelRoute> = BTreeMap::new();
    for r in routes {
        let key = (r.protocol, r.prefix);
        match merged.get_mut(&key) {
            Some(existing) => existing.nexthops.extend(r.nexthops),
            None => {
                merged.insert(key, r);
            }
        }
    }
    merged.into_values().collect()
}

/// The changes that turn our kernel routes `have` (protocol bgp, merged by prefix) into
/// `want`: install what is missing or has other next hops, remove what is not wanted, leave
/// the rest alone.
pub fn resync_changes(have: Vec<KernelRoute>, want: &[FibRoute]) -> Vec<FibChange> {
    let mut have: HashMap<IpNet, Vec<IpAddr>> = have
        .into_iter()
        .map(|r| {
            let mut gateways: Vec<IpAddr> =
                r.nexthops.iter().filter_map(|(gw, _, _)| *gw).collect();
            gateways.sort();
            (r.prefix, gateways)
        })
        .collect();
    let mut changes = Vec::new();
    for route in want {
        let mut nexthops = route.nexthops.clone();
        nexthops.sort();
        nexthops.dedup();
        if have
            .remove(&route.prefix)
            .is_none_or(|gateways| gateways != nexthops)
        {
            changes.push(FibChange::Install(route.clone()));
        }
    }
    let mut stale: Vec<IpNet> = have.into_keys().collect();
    stale.sort();
    changes.extend(stale.into_iter().map(FibChange::Remove));
    changes
}

/// The batched path of [`Fib::apply`], on a blocking netlink socket.
mod batch {
    use netlink_packet_route::RouteNetlinkMessage;
    use rtnetlink::packet_core::{
        NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkBuffer, NetlinkMessage,
        NetlinkPayload,
    };
    use rtnetlink::sys::{SocketAddr, constants::NETLINK_ROUTE};

    use super::*;

    /// What each sequence number asked for, to name the route of an error.
    struct Sent {
        install: bool,
        prefix: IpNet,
    }

    fn socket_error(e: io::Error) -> FibError {
        FibError::Socket(e)
    }

    pub(super) fn apply(changes: &[FibChange]) -> Result<BatchReport, FibError> {
        let mut socket = rtnetlink::sys::Socket::new(NETLINK_ROUTE).map_err(socket_error)?;
        socket.bind_auto().map_err(socket_error)?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(socket_error)?;
        // Errors echo only the request header, and there is room for many of them.
        let _ = socket.set_cap_ack(true);
        let _ = socket.set_rx_buf_sz(4 << 20);
        let mut report = BatchReport::default();
        let mut sent: Vec<Sent> = Vec::with_capacity(changes.len());
        let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES + 4096);
        for change in changes {
            let (message, flags, install, prefix) = match change {
                FibChange::Install(route) => match route_message(route) {
                    Ok(m) => (
                        RouteNetlinkMessage::NewRoute(m),
                        NLM_F_CREATE | NLM_F_REPLACE,
                        true,
                        route.prefix,
                    ),
                    Err(e) => {
                        report.errors.push(e);
                        continue;
                    }
                },
                FibChange::Remove(prefix) => {
                    let mut m = base_message(*prefix);
                    m.header.scope = RouteScope::NoWhere;
                    (RouteNetlinkMessage::DelRoute(m), 0, false, *prefix)
                }
            };
            sent.push(Sent { install, prefix });
            let mut nl = NetlinkMessage::from(message);
            nl.header.flags = NLM_F_REQUEST | flags;
            nl.header.sequence_number = u32::try_from(sent.len()).unwrap_or(u32::MAX);
            nl.finalize();
            let at = buf.len();
            buf.resize(at + nl.buffer_len(), 0);
            nl.serialize(&mut buf[at..]);
            if buf.len() >= BATCH_BYTES {
                send(&socket, &buf)?;
                buf.clear();
                drain(&socket, &sent, &mut report, false)?;
            }
        }
        // A final no-op request with an ACK marks the end: once its answer is read, every
        // error of the batch has been read too.
        let mut done =
            NetlinkMessage::<RouteNetlinkMessage>::new(Default::default(), NetlinkPayload::Noop);
        done.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        done.header.sequence_number = 0;
        done.finalize();
        let at = buf.len();
        buf.resize(at + done.buffer_len(), 0);
        done.serialize(&mut buf[at..]);
        send(&socket, &buf)?;
        drain(&socket, &sent, &mut report, true)?;
        let failed_installs = report
            .errors
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    FibError::Refused {
                        action: "install",
                        ..
                    }
                )
            })
            .count();
        let failed_removes = report
            .errors
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    FibError::Refused {
                        action: "remove",
                        ..
                    }
                )
            })
            .count();
        report.installed = sent
            .iter()
            .filter(|s| s.install)
            .count()
            .saturating_sub(failed_installs);
        report.removed = sent
            .iter()
            .filter(|s| !s.install)
            .count()
            .saturating_sub(failed_removes);
        Ok(report)
    }

    fn send(socket: &rtnetlink::sys::Socket, buf: &[u8]) -> Result<(), FibError> {
        let n = socket.send(buf, 0).map_err(socket_error)?;
        if n != buf.len() {
            return Err(FibError::Netlink(format!(
                "short netlink send: {n} of {} bytes",
                buf.len()
            )));
        }
        Ok(())
    }

    /// Reads the kernel's answers: errors of failed requests, and (when `until_done`) the
    /// acknowledgement of the final no-op, which comes after all of them.
    fn drain(
        socket: &rtnetlink::sys::Socket,
        sent: &[Sent],
        report: &mut BatchReport,
        until_done: bool,
    ) -> Result<(), FibError> {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let flags = if until_done { 0 } else { libc::MSG_DONTWAIT };
            let n = match socket.recv(&mut &mut buf[..], flags) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(socket_error(e)),
            };
            let mut offset = 0;
            while offset < n {
                let chunk = buf.get(offset..n).unwrap_or_default();
                let len = match NetlinkBuffer::new_checked(chunk) {
                    Ok(b) => b.length() as usize,
                    Err(e) => return Err(FibError::Netlink(format!("bad answer: {e}"))),
                };
                if len == 0 {
                    break;
                }
                let msg = chunk.get(..len).unwrap_or(chunk);
                offset += (len + 3) & !3;
                let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg)
                    .map_err(|e| FibError::Netlink(format!("bad answer: {e}")))?;
                let seq = parsed.header.sequence_number;
                let NetlinkPayload::Error(err) = parsed.payload else {
                    continue;
                };
                if seq == 0 {
                    // The final acknowledgement (or the no-op's own failure): done.
                    return Ok(());
                }
                let code = err.raw_code().abs();
                let Some(request) = seq.checked_sub(1).and_then(|i| sent.get(i as usize)) else {
                    continue;
                };
                if code == libc_eperm() || code == 13 {
                    return Err(FibError::PermissionDenied);
                }
                if !request.install && code == libc_esrch() {
                    continue;
                }
                report.errors.push(FibError::Refused {
                    action: if request.install { "install" } else { "remove" },
                    prefix: request.prefix,
                    source: io::Error::from_raw_os_error(code),
                });
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::ErrorMessage;
    use std::num::NonZeroI32;

    fn route(prefix: &str, nhs: &[&str]) -> FibRoute {
        FibRoute {
            prefix: prefix.parse().unwrap(),
            nexthops: nhs.iter().map(|n| n.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn multipath_routes_carry_one_nexthop_per_gateway() {
        let m = route_message(&route("198.51.100.0/32", &["10.192.0.3", "10.192.0.4"])).unwrap();
        assert_eq!(m.header.protocol, NlProto::Bgp);
        assert_eq!(u8::from(m.header.protocol), RTPROT_BGP);
        let hops = m
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::MultiPath(h) => Some(h.len()),
                _ => None,
            })
            .unwrap();
        assert_eq!(hops, 2);
        assert!(m.attributes.contains(&RouteAttribute::Priority(BGP_METRIC)));
    }

    #[test]
    fn routes_without_nexthop_or_with_the_wrong_family_are_refused() {
        assert!(matches!(
            route_message(&route("10.0.0.0/8", &[])),
            Err(FibError::NoNexthop(_))
        ));
        assert!(matches!(
            route_message(&route("10.0.0.0/8", &["2001:db8::1"])),
            Err(FibError::FamilyMismatch { .. })
        ));
    }

    fn kernel(prefix: &str, gateways: &[&str]) -> KernelRoute {
        KernelRoute {
            prefix: prefix.parse().unwrap(),
            protocol: RTPROT_BGP,
            link_scope: false,
            metric: BGP_METRIC,
            nexthops: gateways
                .iter()
                .map(|g| (Some(g.parse().unwrap()), 2, 1))
                .collect(),
            nhid: None,
        }
    }

    #[test]
    fn resync_installs_what_is_missing_or_different_and_removes_what_is_not_wanted() {
        let have = vec![
            kernel("10.0.0.0/24", &["10.77.0.3"]),
            kernel("10.0.1.0/24", &["10.77.0.3"]),
            kernel("10.0.2.0/24", &["10.77.0.4", "10.77.0.3"]),
            kernel("10.0.9.0/24", &["10.77.0.3"]),
            kernel("2001:db8:9::/48", &["2001:db8:77::3"]),
        ];
        let want = [
            // Same: left alone.
            route("10.0.0.0/24", &["10.77.0.3"]),
            // Other next hop.
            route("10.0.1.0/24", &["10.77.0.4"]),
            // Same ECMP set in another order: left alone.
            route("10.0.2.0/24", &["10.77.0.3", "10.77.0.4"]),
            // Missing.
            route("10.0.3.0/24", &["10.77.0.3"]),
        ];
        let changes = resync_changes(have, &want);
        assert_eq!(
            changes,
            [
                FibChange::Install(want[1].clone()),
                FibChange::Install(want[3].clone()),
                FibChange::Remove("10.0.9.0/24".parse().unwrap()),
                FibChange::Remove("2001:db8:9::/48".parse().unwrap()),
            ]
        );
        assert!(resync_changes(Vec::new(), &[]).is_empty());
    }

    #[test]
    fn eperm_from_the_kernel_means_missing_net_admin() {
        let mut m = ErrorMessage::default();
        m.code = NonZeroI32::new(-1);
        let e = kernel_error(
            rtnetlink::Error::NetlinkError(m),
            "install",
            "10.0.0.0/8".parse().unwrap(),
        );
        assert!(matches!(e, FibError::PermissionDenied));
        assert_eq!(
            e.to_string(),
            "not permitted to change kernel routes (CAP_NET_ADMIN is missing): running RIB-only"
        );
    }
}
