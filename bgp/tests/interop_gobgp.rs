//! Interop with GoBGP 3.10 (`gobgpd`, driven with the `gobgp` CLI) started from its Debian
//! package on a loopback address of its own (see `interop/gobgp.rs`).
//!
//! Our speaker against it (`interop/scenarios.rs`): sessions opened by either side, IPv4 and
//! IPv6 routes over an IPv4 session and IPv6 routes over an IPv6 session, each way with
//! AS_PATH (4-octet ASNs), MED, communities, large communities and NEXT_HOP intact, their
//! withdrawals, LOCAL_PREF on iBGP, the daemon's Bad Peer AS NOTIFICATION reported as
//! received 2/2, our hold timer expiring while the daemon is frozen with SIGSTOP, and a
//! session the daemon resets taken back at once (not after ConnectRetry).
//!
//! GoBGP treats an IPv4 NEXT_HOP in 127/8 as withdraw, so the routes we send it carry a
//! documentation-range next hop; the self-next-hop check runs against the other daemons.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;

use interop::gobgp::GoBgp;
use interop::scenarios::{self, Kind};
use interop::{Daemon, Endpoint, PeerSpec};

fn start_gobgp(at: Endpoint, spec: PeerSpec) -> interop::Result<Box<dyn Daemon>> {
    Ok(Box::new(GoBgp::start_at(at, spec)?))
}

const KIND: Kind = Kind {
    start: start_gobgp,
    accepts_loopback_next_hop: false,
    accepts_ipv6_loopback_next_hop: true,
    cease_may_be_lost_when_it_connects: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_gobgp_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_connects_to_us_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_session_with_gobgp_carries_ipv6_routes_with_attributes_both_ways() {
    scenarios::ipv6_session_carries_ipv6_routes(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibgp_with_gobgp_carries_local_pref_both_ways() {
    scenarios::ibgp_carries_local_pref(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_bad_peer_as_notification_is_reported_as_received_2_2() {
    scenarios::their_as_mismatch_notification_is_reported(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_gobgp_expires_our_hold_timer() {
    scenarios::frozen_peer_expires_our_hold_timer(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_resetting_the_session_it_opened_is_taken_back_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, false).await;
}

// No "we dial again" case: after `neighbor reset` GoBGP closes every connection for its
// idle hold (30 s, the configured value is not taken), so our dial a second later fails and
// the next one waits for ConnectRetry, as FRR's would.
