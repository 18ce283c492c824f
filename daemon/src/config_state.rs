//! Whether the configuration a daemon read is in force, reported as MetalLB v0.16 reports it:
//! a log line, the `metallb_k8s_client_config_*` gauges and the daemon's `ConfigurationState`
//! object (`controller` for the controller, `speaker-<node>` for each speaker) with its
//! `configReconcilerValid` condition.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use lb_config::crd::configuration_state::{
    COMPONENT_TYPE_LABEL, ConfigurationState, NODE_NAME_LABEL,
};

use crate::k8s_metrics::K8sClientMetrics;

/// Whether the configuration in the cluster is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigState {
    /// It validated and is in force.
    Valid,
    /// It did not validate: these errors, one per line; the last good one stays in force.
    Invalid(String),
}

/// The ConfigurationState object a daemon owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigStateObject {
    /// Its name.
    pub name: String,
    /// Its labels (`metallb.io/component-type`, and the node for a speaker).
    pub labels: BTreeMap<String, String>,
    /// The field manager of the daemon's server-side applies.
    pub field_manager: String,
}

impl ConfigStateObject {
    /// The controller's: `controller`, component type `controller`.
    pub fn controller() -> Self {
        ConfigStateObject {
            name: "controller".to_owned(),
            labels: BTreeMap::from([(COMPONENT_TYPE_LABEL.to_owned(), "controller".to_owned())]),
            field_manager: "metallb-controller".to_owned(),
        }
    }

    /// A speaker's: `speaker-<node>`, component type `speaker`, with the node's name.
    pub fn speaker(node: &str) -> Self {
        ConfigStateObject {
            name: format!("speaker-{node}"),
            labels: BTreeMap::from([
                (COMPONENT_TYPE_LABEL.to_owned(), "speaker".to_owned()),
                (NODE_NAME_LABEL.to_owned(), node.to_owned()),
            ]),
            field_manager: "metallb-speaker".to_owned(),
        }
    }
}

/// Logs the state as MetalLB's ConfigReconciler does and moves the config gauges.
pub fn log_and_count(state: &ConfigState, metrics: &K8sClientMetrics) {
    match state {
        ConfigState::Valid => {
            tracing::info!(
                controller = "ConfigReconciler",
                event = "config reloaded",
                "config reloaded"
            );
            metrics.config_applied();
        }
        ConfigState::Invalid(errors) => {
            tracing::error!(
                controller = "ConfigReconciler",
                error = errors.as_str(),
                "failed to parse the configuration"
            );
            metrics.config_rejected();
        }
    }
}

/// Creates or updates the ConfigurationState `object` in `namespace` with `state`.
pub async fn write(
    client: &Client,
    namespace: &str,
    object: &ConfigStateObject,
    state: &ConfigState,
) -> Result<(), kube::Error> {
    let api: Api<ConfigurationState> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(&object.field_manager).force();
    let body = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": { "name": object.name, "labels": object.labels },
    });
    api.patch(&object.name, &params, &Patch::Apply(&body))
        .await?;
    let (result, summary, status, reason) = match state {
        ConfigState::Valid => ("Valid", String::new(), "True", "Reconciled"),
        ConfigState::Invalid(errors) => ("Invalid", errors.clone(), "False", "ConfigurationError"),
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status_patch = json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ConfigurationState",
        "metadata": { "name": object.name },
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
    api.patch_status(&object.name, &params, &Patch::Apply(&status_patch))
        .await?;
    Ok(())
}
