//! What the controller reports besides Services and its ConfigurationState
//! ([`lb_daemon::config_state`]): the IPAddressPools' status counters.

use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use lb_config::crd::ip_address_pool::IPAddressPool;

use crate::allocator::PoolStats;

/// Writes an IPAddressPool's counters; a pool that is not a custom resource (a legacy
/// ConfigMap pool) or no longer exists is skipped.
pub async fn write_pool_status(
    client: &Client,
    namespace: &str,
    pool: &str,
    stats: &PoolStats,
) -> Result<(), kube::Error> {
    let api: Api<IPAddressPool> = Api::namespaced(client.clone(), namespace);
    let body = json!({
        "status": {
            "assignedIPv4": stats.in_use_v4,
            "assignedIPv6": stats.in_use_v6,
            "availableIPv4": stats.available_v4,
            "availableIPv6": stats.available_v6,
        }
    });
    match api
        .patch_status(pool, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(err),
    }
}
