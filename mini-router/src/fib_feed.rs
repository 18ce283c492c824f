//! What the kernel FIB gets from the BGP engine: each Loc-RIB change as a kernel change
//! ([`fib_changes`], pure), and the whole table again when changes were lost
//! ([`resync`]): after [`bgp::Event::Lagged`] (this consumer fell too far behind and the
//! engine dropped events rather than wait for it) and when a BGP instance is replaced.

use bgp::{BestChange, Family, Speaker};

use crate::fib::{BatchReport, Fib, FibChange, FibError, FibRoute};

/// Why the kernel could not be brought to the RIB.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The kernel refused (or the netlink socket failed).
    #[error(transparent)]
    Kernel(#[from] FibError),
    /// The Loc-RIB could not be read back (the BGP instance stopped meanwhile).
    #[error("cannot read the BGP RIB: {0}")]
    Rib(#[from] bgp::SpeakerError),
}

/// Applies one event of the engine to the kernel: best-path changes as they come, a lag by
/// re-reading the Loc-RIB from `speaker`. Other events change nothing in the kernel
/// (`None`).
pub async fn follow(
    fib: &Fib,
    event: &bgp::Event,
    speaker: Option<&Speaker>,
) -> Result<Option<BatchReport>, FeedError> {
    match event {
        bgp::Event::BestPathChanged(changes) => Ok(Some(fib.apply(fib_changes(changes)).await?)),
        bgp::Event::Lagged(missed) => {
            tracing::warn!(
                missed,
                "fell behind the BGP events; bringing the kernel routes to the RIB again"
            );
            resync(fib, speaker).await.map(Some)
        }
        _ => Ok(None),
    }
}

/// Brings the kernel to the Loc-RIB of `speaker` (to no BGP routes at all without one),
/// changing only what differs.
pub async fn resync(fib: &Fib, speaker: Option<&Speaker>) -> Result<BatchReport, FeedError> {
    let mut selected = Vec::new();
    if let Some(speaker) = speaker {
        for family in Family::ALL {
            selected.extend(speaker.selected(family).await?);
        }
    }
    let want: Vec<FibRoute> = fib_changes(&selected)
        .into_iter()
        .filter_map(|change| match change {
            FibChange::Install(route) => Some(route),
            FibChange::Remove(_) => None,
        })
        .collect();
    Ok(fib.resync(&want).await?)
}

/// The kernel changes for Loc-RIB changes: a best path with real next hops is installed
/// (all multipath next hops as ECMP); a removed prefix, or one whose best path is our own
/// (`network`, no next hop), is removed.
pub fn fib_changes(changes: &[BestChange]) -> Vec<FibChange> {
    changes
        .iter()
        .map(|change| {
            let nexthops: Vec<std::net::IpAddr> = change
                .best
                .as_ref()
                .map(|best| {
                    best.next_hops
                        .iter()
                        .copied()
                        .filter(|nh| !nh.is_unspecified())
                        .collect()
                })
                .unwrap_or_default();
            if nexthops.is_empty() {
                FibChange::Remove(change.prefix)
            } else {
                FibChange::Install(FibRoute {
                    prefix: change.prefix,
                    nexthops,
                })
            }
        })
        .collect()
}
