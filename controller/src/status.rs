//! What the controller reports besides Services: the ConfigurationState `controller`
//! (Valid/Invalid with the error summary, as MetalLB v0.16) and the IPAddressPools' status
//! counters.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use lb_config::crd::configuration_state::ConfigurationState;
use lb_config::crd::ip_address_pool::IPAddressPool;

use crate::allocator::PoolStats;
use crate::engine::ConfigState;

/// The ConfigurationState object the controller owns.
pub const CONFIG_STATE_NAME: &str = "controller";
/// Field manager of the controller's server-side applies.
const FIELD_MANAGER: &str = "metallb-controller";

/// Creates or updates the ConfigurationState `controller` in `namespace`.
pub async fn write_config_state(
    client: &Client,
    namespace: &str,
    state: &ConfigState,
) -> Result<(), kube::Error> {
    let api: Api<ConfigurationState> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let object = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": { "name": CONFIG_STATE_NAME, "labels": { "metallb.io/component-type": "controller" } },
    });
    api.patch(CONFIG_STATE_NAME, &params, &Patch::Apply(&object))
        .await?;
    let (result, summary, status, reason) = match state {
        ConfigState::Valid => ("Valid", String::new(), "True", "Reconciled"),
        ConfigState::Invalid(errors) => ("Invalid", errors.clone(), "False", "ConfigurationError"),
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status_patch = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": { "name": CONFIG_STATE_NAME },
        "status": {
            "result": result,
            "errorSummary": summary,
            "conditions": [{
                "type": "configReconcilerValid",
                "status": status,
                "reason": reason,
                "message": summary,
                "lastTransitionTime": now,
            }],
        },
    });
    api.patch_status(CONFIG_STATE_NAME, &params, &Patch::Apply(&status_patch))
        .await?;
    Ok(())
}

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
