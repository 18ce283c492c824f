//! A real control plane from the pinned binaries: objects are stored and allocated by the real
//! kube-apiserver, pods scheduled and run on kwok nodes, RBAC enforced; failures at start name
//! the component and leave nothing behind.
//!
//! These tests need the binaries built by `lab/scripts/build-control-plane.sh`; without them
//! they fail with a message saying so (they never skip).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, PostParams};
use lab::wait::eventually;
use lab::{Binaries, Binary, Cluster, ClusterConfig, ClusterError, NodeSpec, Ports};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn start(config: ClusterConfig) -> Cluster {
    match Cluster::start(config).await {
        Ok(c) => c,
        Err(e) => panic!("the cluster did not start: {e}"),
    }
}

async fn create<K>(api: &Api<K>, value: serde_json::Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(value).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap()
}

#[tokio::test]
async fn deployment_behind_a_load_balancer_service_runs_on_a_kwok_node_with_endpoints() {
    let cluster = start(ClusterConfig::full()).await;
    cluster
        .add_node(
            &NodeSpec {
                name: "kube-node-1".into(),
                internal_ip: "10.192.0.3".parse().unwrap(),
                pod_cidr: "10.244.1.0/24".into(),
                control_plane: false,
            },
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let client = cluster.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(
        &namespaces,
        serde_json::json!({"metadata": {"name": "demo"}}),
    )
    .await;

    let services: Api<Service> = Api::namespaced(client.clone(), "demo");
    let svc = create(
        &services,
        serde_json::json!({
            "metadata": {"name": "nginx"},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"app": "nginx"},
                "ports": [{"name": "http", "port": 80, "targetPort": 80}],
            },
        }),
    )
    .await;
    let spec = svc.spec.unwrap();
    let cluster_ip: Ipv4Addr = spec.cluster_ip.unwrap().parse().unwrap();
    let service_net = ipnet::Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 12).unwrap();
    assert!(
        service_net.contains(&cluster_ip),
        "ClusterIP {cluster_ip} not in 10.96.0.0/12"
    );
    let node_port = spec.ports.unwrap()[0].node_port.unwrap();
    assert!((30000..=32767).contains(&node_port), "NodePort {node_port}");

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "demo");
    create(
        &deployments,
        serde_json::json!({
            "metadata": {"name": "nginx"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{
                        "name": "nginx", "image": "nginx:1",
                        "ports": [{"name": "http", "containerPort": 80}],
                    }]},
                },
            },
        }),
    )
    .await;

    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let pod = eventually(
        "a Running nginx pod with an IP",
        Duration::from_secs(90),
        || {
            let pods = pods.clone();
            async move {
                let list = pods
                    .list(&ListParams::default().labels("app=nginx"))
                    .await
                    .ok()?;
                list.items.into_iter().find(|p| {
                    let st = p.status.as_ref();
                    st.and_then(|s| s.phase.as_deref()) == Some("Running")
                        && st.and_then(|s| s.pod_ip.as_ref()).is_some()
                })
            }
        },
    )
    .await;
    assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some("kube-node-1"));
    let pod_ip = pod.status.unwrap().pod_ip.unwrap();

    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "demo");
    let addresses = eventually(
        "an EndpointSlice with the pod's IP",
        Duration::from_secs(60),
        || {
            let slices = slices.clone();
            let pod_ip = pod_ip.clone();
            async move {
                let lp = ListParams::default().labels("kubernetes.io/service-name=nginx");
                let list = slices.list(&lp).await.ok()?;
                let addrs: Vec<String> = list
                    .items
                    .into_iter()
                    .flat_map(|s| s.endpoints.unwrap_or_default())
                    .flat_map(|e| e.addresses)
                    .collect();
                addrs.contains(&pod_ip).then_some(addrs)
            }
        },
    )
    .await;
    assert_eq!(addresses, vec![pod_ip]);
}

#[tokio::test]
async fn service_account_without_rights_is_refused() {
    let cluster = start(ClusterConfig::apiserver_only()).await;
    let client = cluster.client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(
        &namespaces,
        serde_json::json!({"metadata": {"name": "rbac"}}),
    )
    .await;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "rbac");
    create(
        &accounts,
        serde_json::json!({"metadata": {"name": "nobody"}}),
    )
    .await;
    let token = cluster
        .service_account_token("rbac", "nobody")
        .await
        .unwrap();

    let as_nobody = cluster.client_with_token(&token).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(as_nobody, "rbac");
    match pods.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            assert!(
                status.message.contains("system:serviceaccount:rbac:nobody"),
                "{}",
                status.message
            );
        }
        other => panic!("listing pods as a ServiceAccount without rights gave {other:?}"),
    }
}

#[tokio::test]
async fn missing_binary_is_named_with_the_script_that_builds_it() {
    let empty = std::env::temp_dir().join(format!("ferrolb-lab-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let config = ClusterConfig {
        binaries: Binaries::in_dir(&empty),
        ..ClusterConfig::apiserver_only()
    };
    let err = Cluster::start(config)
        .await
        .err()
        .expect("started without binaries");
    let _ = std::fs::remove_dir(&empty);
    let msg = err.to_string();
    assert!(matches!(err, ClusterError::MissingBinary(_)), "{msg}");
    assert!(msg.starts_with("etcd not found"), "{msg}");
    assert!(msg.contains("lab/scripts/build-control-plane.sh"), "{msg}");
}

fn free_ports() -> Ports {
    let p = |c| lab::ports::free_port(LO, c).unwrap();
    Ports {
        etcd_client: p("etcd"),
        etcd_peer: p("etcd"),
        apiserver: p("kube-apiserver"),
        controller_manager: p("kube-controller-manager"),
        scheduler: p("kube-scheduler"),
        kwok: p("kwok"),
    }
}

#[tokio::test]
async fn port_already_taken_is_reported_for_the_component_that_needs_it() {
    if let Err(e) = Binaries::from_env().path(Binary::KubeApiserver) {
        panic!("{e}");
    }
    let taken = TcpListener::bind((LO, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = ClusterConfig {
        ports: Some(Ports {
            apiserver: port,
            ..free_ports()
        }),
        ..ClusterConfig::apiserver_only()
    };
    let err = Cluster::start(config)
        .await
        .err()
        .expect("started on a taken port");
    assert_eq!(
        err.to_string(),
        format!("kube-apiserver cannot listen on 127.0.0.1:{port}: the port is already in use")
    );
}

#[tokio::test]
async fn component_dying_at_start_is_named_with_its_log_and_everything_is_cleaned_up() {
    let ports = free_ports();
    let config = ClusterConfig {
        ports: Some(ports),
        extra_args: vec![(Binary::KubeApiserver, "--no-such-flag-for-the-lab".into())],
        ..ClusterConfig::apiserver_only()
    };
    let err = Cluster::start(config)
        .await
        .err()
        .expect("started with a bad flag");
    let msg = err.to_string();
    let ClusterError::Exited {
        component,
        log,
        tail,
        ..
    } = err
    else {
        panic!("expected the apiserver to exit, got: {msg}");
    };
    assert_eq!(component, "kube-apiserver", "{msg}");
    assert!(tail.contains("no-such-flag-for-the-lab"), "{msg}");
    // etcd, started before, was stopped and the data directory removed.
    let dir = log.parent().unwrap();
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        lab::ports::is_free(LO, ports.etcd_client),
        "etcd still listens"
    );
}

#[tokio::test]
async fn panic_in_a_test_stops_the_cluster_and_removes_its_files() {
    let cluster = start(ClusterConfig::apiserver_only()).await;
    let pids: Vec<u32> = cluster.components().iter().map(|c| c.pid).collect();
    let dir = cluster.data_dir().to_owned();
    let port = cluster.ports().apiserver;
    assert_eq!(pids.len(), 2);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _held = cluster;
        panic!("a failing test");
    }));
    assert!(outcome.is_err());
    for pid in pids {
        assert!(
            !lab::process::group_alive(pid),
            "process group {pid} still alive"
        );
    }
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(lab::ports::is_free(LO, port));
}
