//! The watchers: one task per kind keeps its cache current and tells the engine what changed.
//! Cached objects are stored without their `metadata.managedFields`, which nothing reads.
//!
//! A kind whose CRD is not installed (a user of the legacy ConfigMap alone) counts as synced
//! and empty, so the controller still starts; its watcher keeps retrying and picks the kind
//! up once the CRD appears.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use lb_config::crd::bfd_profile::BFDProfile;
use lb_config::crd::bgp_advertisement::BGPAdvertisement;
use lb_config::crd::bgp_peer::BGPPeer;
use lb_config::crd::community::Community;
use lb_config::crd::ip_address_pool::IPAddressPool;
use lb_config::crd::l2_advertisement::L2Advertisement;

use crate::caches::{Cache, Caches};
use crate::engine::Input;
use crate::service::service_key;

/// Starts a watcher for every kind the controller reads and returns their caches. Notices
/// go to `tx`; the tasks end when the receiver is dropped.
pub fn start(client: &Client, namespace: &str, tx: mpsc::Sender<Input>) -> Caches {
    let ns = namespace;
    Caches {
        services: spawn(Api::all(client.clone()), tx.clone(), |s: &Service| {
            Input::Service(service_key(s))
        }),
        namespaces: spawn(Api::<Namespace>::all(client.clone()), tx.clone(), |_| {
            Input::Namespaces
        }),
        config_maps: spawn(
            Api::<ConfigMap>::namespaced(client.clone(), ns),
            tx.clone(),
            |_| Input::Config,
        ),
        pools: spawn(
            Api::<IPAddressPool>::namespaced(client.clone(), ns),
            tx.clone(),
            |_| Input::Config,
        ),
        peers: spawn(
            Api::<BGPPeer>::namespaced(client.clone(), ns),
            tx.clone(),
            |_| Input::Config,
        ),
        bgp_advertisements: spawn(
            Api::<BGPAdvertisement>::namespaced(client.clone(), ns),
            tx.clone(),
            |_| Input::Config,
        ),
        l2_advertisements: spawn(
            Api::<L2Advertisement>::namespaced(client.clone(), ns),
            tx.clone(),
            |_| Input::Config,
        ),
        communities: spawn(
            Api::<Community>::namespaced(client.clone(), ns),
            tx.clone(),
            |_| Input::Config,
        ),
        bfd_profiles: spawn(
            Api::<BFDProfile>::namespaced(client.clone(), ns),
            tx,
            |_| Input::Config,
        ),
    }
}

fn spawn<K>(api: Api<K>, tx: mpsc::Sender<Input>, notice: fn(&K) -> Input) -> Cache<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let cache = Cache::new(store);
    tokio::spawn(run(api, writer, cache.synced.clone(), tx, notice));
    cache
}

async fn run<K>(
    api: Api<K>,
    writer: Writer<K>,
    synced: Arc<AtomicBool>,
    tx: mpsc::Sender<Input>,
    notice: fn(&K) -> Input,
) where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let kind = K::kind(&());
    // managedFields are never read here and are most of a cached object's memory (a tree
    // of JSON maps per field manager: ~4.9 KB of a cached Service's ~7.1 KB), so the cache
    // keeps none.
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default())
            .default_backoff()
            .modify(|obj| obj.meta_mut().managed_fields = None),
    );
    let mut stream = std::pin::pin!(stream);
    let mut missing_reported = false;
    while let Some(event) = stream.next().await {
        let input = match event {
            Ok(watcher::Event::Apply(obj) | watcher::Event::Delete(obj)) => notice(&obj),
            Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => continue,
            Ok(watcher::Event::InitDone) => {
                synced.store(true, Ordering::Release);
                Input::Synced
            }
            Err(err) if is_not_found(&err) => {
                if missing_reported {
                    continue;
                }
                missing_reported = true;
                tracing::warn!(kind = kind.as_ref(), error = %err, "resource not served by the apiserver (CRD not installed?): treated as empty");
                synced.store(true, Ordering::Release);
                Input::Synced
            }
            Err(err) => {
                tracing::error!(kind = kind.as_ref(), error = %err, "watch failed, retrying");
                continue;
            }
        };
        if tx.send(input).await.is_err() {
            return;
        }
    }
}

fn is_not_found(err: &watcher::Error) -> bool {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status)) => status.code == 404,
        _ => false,
    }
}
