//! Watch caches for both daemons: one kube reflector per kind, kept current by a task of its
//! own, each knowing whether its first complete list has arrived, and each change reported as
//! a notice of the daemon's own type on one channel.
//!
//! Daemons decide from the caches rather than from the watch events themselves, so they always
//! act on the latest state and a burst of changes to one object costs one decision.
//!
//! A kind the apiserver does not serve (a `metallb.io` CRD not installed, for a user of the
//! legacy ConfigMap alone) counts as synced and empty, so the daemon still starts; its watcher
//! keeps retrying and picks the kind up once the CRD appears. After a watch loses its
//! connection (the apiserver restarted), the watcher lists again and the `synced` notice is
//! sent once more, so the daemon can resynchronise with whatever changed meanwhile.

pub mod config;

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

/// The bounds every watched kind meets (all built-in and `metallb.io` kinds do).
pub trait Watched:
    kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> Watched for K where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static
{
}

/// One kind's watch cache.
pub struct Cache<K: kube::Resource<DynamicType = ()> + Clone + 'static> {
    /// The objects, kept current by the kind's watcher.
    pub store: Store<K>,
    /// Set once the first complete list is in the store (or the kind does not exist).
    pub synced: Arc<AtomicBool>,
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> Cache<K> {
    /// A cache over `store`, not yet synced.
    pub fn new(store: Store<K>) -> Self {
        Cache {
            store,
            synced: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A cache marked synced and the writer that fills it: for tests of decisions over
    /// hand-filled caches (`writer.apply_watcher_event(&watcher::Event::Apply(obj))`).
    pub fn filled_by_hand() -> (Self, Writer<K>)
    where
        K::DynamicType: Default + Eq + std::hash::Hash + Clone,
    {
        let (store, writer) = reflector::store();
        let cache = Cache::new(store);
        cache.synced.store(true, Ordering::Release);
        (cache, writer)
    }

    /// Whether the first complete list has arrived.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Copies of every object, sorted by namespace and name (so decisions over them do not
    /// depend on watch order).
    pub fn all(&self) -> Vec<K> {
        let mut objects: Vec<K> = self.store.state().iter().map(|o| (**o).clone()).collect();
        objects.sort_by(|a, b| {
            (&a.meta().namespace, &a.meta().name).cmp(&(&b.meta().namespace, &b.meta().name))
        });
        objects
    }

    /// Every object, shared, in no particular order.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    /// The object `name` of `namespace` (`None` for a cluster-scoped kind), if it exists.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        let reference = match namespace {
            Some(ns) => ObjectRef::new(name).within(ns),
            None => ObjectRef::new(name),
        };
        self.store.get(&reference)
    }
}

/// Starts a watcher of `api` (narrowed by `config`: a label or field selector) and returns
/// its cache. Each added, changed or deleted object becomes `notice(object)` on `tx`; each
/// completed list (the first, and every one after a lost watch) becomes `synced`. The task ends
/// when the receiver is dropped.
pub fn spawn<K, I, F>(
    api: Api<K>,
    config: watcher::Config,
    tx: mpsc::Sender<I>,
    notice: F,
    synced: I,
) -> Cache<K>
where
    K: Watched,
    I: Clone + Send + 'static,
    F: Fn(&K) -> I + Send + 'static,
{
    let (store, writer) = reflector::store();
    let cache = Cache::new(store);
    tokio::spawn(run(
        api,
        config,
        writer,
        cache.synced.clone(),
        tx,
        notice,
        synced,
    ));
    cache
}

async fn run<K, I, F>(
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
    synced: Arc<AtomicBool>,
    tx: mpsc::Sender<I>,
    notice: F,
    synced_notice: I,
) where
    K: Watched,
    I: Clone + Send + 'static,
    F: Fn(&K) -> I + Send + 'static,
{
    let kind = K::kind(&());
    // managedFields are never read by the daemons and are most of a cached object's memory
    // (a tree of JSON maps per field manager: ~4.9 KB of a cached Service's ~7.1 KB), so the
    // caches keep none.
    let stream = reflector::reflector(
        writer,
        watcher(api, config)
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
                synced_notice.clone()
            }
            Err(err) if is_not_found(&err) => {
                if missing_reported {
                    continue;
                }
                missing_reported = true;
                tracing::warn!(kind = kind.as_ref(), error = %err, "resource not served by the apiserver (CRD not installed?): treated as empty");
                synced.store(true, Ordering::Release);
                synced_notice.clone()
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
