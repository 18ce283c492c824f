//! `bench/speaker`: N LoadBalancer Services with endpoints on both nodes made announceable at
//! once, then deleted, against a fresh lab apiserver per run, once per contender — ferrolb's
//! speaker and MetalLB v0.16.2's (native BGP) — each running on two nodes (network
//! namespaces) and peering with a counting router. Measured: the time until the router holds
//! every Service's /32 from both speakers, the time until it holds none, and the speakers'
//! peak RSS and CPU. The binary is `src/bin/speaker.rs`; this module holds the parts.
//!
//! - [`topology`]: the LAN, the machines, the ASes.
//! - [`contender`]: the configuration both speakers get and how each one starts.
//! - [`router`]: the router that counts prefixes per peer.
//! - [`workload`]: the Services, their statuses and EndpointSlices, and their deletion.
//! - [`run`]: one measurement, from a fresh cluster to the stopped speakers.
//! - [`report`]: medians and the Markdown table.

pub mod contender;
pub mod report;
pub mod router;
pub mod run;
pub mod topology;
pub mod workload;
