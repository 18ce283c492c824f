//! The controller's watchers ([`lb_daemon::watch`]): Services and Namespaces of the whole
//! cluster and the configuration of MetalLB's namespace, each change a notice to the engine.

use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::runtime::watcher;
use kube::{Api, Client};
use lb_daemon::watch::config::ConfigCaches;
use lb_daemon::watch::spawn;
use tokio::sync::mpsc;

use crate::caches::Caches;
use crate::engine::Input;
use crate::service::service_key;

/// Starts a watcher for every kind the controller reads and returns their caches. Notices
/// go to `tx`; the tasks end when the receiver is dropped.
pub fn start(client: &Client, namespace: &str, tx: mpsc::Sender<Input>) -> Caches {
    Caches {
        services: spawn(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
            tx.clone(),
            |s: &Service| Input::Service(service_key(s)),
            Input::Synced,
        ),
        namespaces: spawn(
            Api::<Namespace>::all(client.clone()),
            watcher::Config::default(),
            tx.clone(),
            |_| Input::Namespaces,
            Input::Synced,
        ),
        config: ConfigCaches::start(client, namespace, &tx, Input::Config, Input::Synced),
    }
}
