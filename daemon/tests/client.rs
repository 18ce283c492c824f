//! `client::connect` against a real kube-apiserver (lab's control plane): every source gives
//! a client that authenticates as the identity it holds.
//!
//! Needs the binaries of `lab/scripts/build-control-plane.sh`; without them the tests fail
//! saying so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Client;
use kube::api::{Api, PostParams};
use lab::{Cluster, ClusterConfig};
use lb_daemon::client::{Environment, Source, connect};

async fn start() -> Cluster {
    match Cluster::start(ClusterConfig::apiserver_only()).await {
        Ok(c) => c,
        Err(e) => panic!("the cluster did not start: {e}"),
    }
}

/// The user name the apiserver sees for `client`.
async fn whoami(client: Client) -> String {
    let reviews: Api<SelfSubjectReview> = Api::all(client);
    let review = reviews
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");
    review.status.unwrap().user_info.unwrap().username.unwrap()
}

/// An environment with nothing set and no ServiceAccount directory.
fn empty_env() -> Environment {
    Environment {
        service_account_dir: PathBuf::from("/nonexistent/serviceaccount"),
        ..Environment::default()
    }
}

async fn create(client: &Client, value: serde_json::Value) {
    let kind = value["kind"].as_str().unwrap().to_owned();
    let params = PostParams::default();
    let result = match kind.as_str() {
        "Namespace" => Api::<Namespace>::all(client.clone())
            .create(&params, &serde_json::from_value(value).unwrap())
            .await
            .map(|_| ()),
        "ServiceAccount" => Api::<ServiceAccount>::namespaced(client.clone(), "metallb-system")
            .create(&params, &serde_json::from_value(value).unwrap())
            .await
            .map(|_| ()),
        other => panic!("no create for {other}"),
    };
    result.unwrap_or_else(|e| panic!("creating a {kind}: {e}"));
}

/// A ServiceAccount directory as the kubelet mounts it: a fresh token of `metallb-system/speaker`,
/// the CA bundle `ca`, the namespace.
async fn service_account_dir(cluster: &Cluster, ca: &Path) -> tempfile::TempDir {
    let admin = &cluster.client();
    create(
        admin,
        serde_json::json!({"kind": "Namespace", "metadata": {"name": "metallb-system"}}),
    )
    .await;
    create(
        admin,
        serde_json::json!({"kind": "ServiceAccount", "metadata": {"name": "speaker"}}),
    )
    .await;
    let token = cluster
        .service_account_token("metallb-system", "speaker")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), token).unwrap();
    std::fs::copy(ca, dir.path().join("ca.crt")).unwrap();
    std::fs::write(dir.path().join("namespace"), "metallb-system").unwrap();
    dir
}

#[tokio::test]
async fn kubeconfig_flag_env_list_and_home_fallback_reach_the_apiserver_as_the_admin() {
    let cluster = start().await;
    let kubeconfig = cluster.kubeconfig().to_path_buf();

    // --kubeconfig, even with a broken KUBECONFIG around (the flag comes first).
    let env = Environment {
        kubeconfig: Some(OsString::from("/nonexistent/broken")),
        ..empty_env()
    };
    let conn = connect(Some(&kubeconfig), &env).await.unwrap();
    assert_eq!(conn.source, Source::KubeconfigFlag(kubeconfig.clone()));
    assert_eq!(conn.default_namespace, "default");
    assert_eq!(whoami(conn.client).await, "kubernetes-admin");

    // KUBECONFIG as a list, with a missing file skipped as kubectl does.
    let mut list = OsString::from("/nonexistent/first:");
    list.push(&kubeconfig);
    let env = Environment {
        kubeconfig: Some(list.clone()),
        ..empty_env()
    };
    let conn = connect(None, &env).await.unwrap();
    assert_eq!(conn.source, Source::KubeconfigEnv(list));
    assert_eq!(whoami(conn.client).await, "kubernetes-admin");

    // In a "pod" whose ServiceAccount directory is empty, ~/.kube/config is used instead.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".kube")).unwrap();
    std::fs::copy(&kubeconfig, home.path().join(".kube/config")).unwrap();
    let empty_sa = tempfile::tempdir().unwrap();
    let env = Environment {
        service_host: Some("127.0.0.1".into()),
        service_port: Some(cluster.ports().apiserver.to_string()),
        service_account_dir: empty_sa.path().to_path_buf(),
        home: Some(home.path().to_path_buf()),
        ..Environment::default()
    };
    let conn = connect(None, &env).await.unwrap();
    assert_eq!(
        conn.source,
        Source::HomeKubeconfig(home.path().join(".kube/config"))
    );
    assert_eq!(whoami(conn.client).await, "kubernetes-admin");
}

#[tokio::test]
async fn in_cluster_config_authenticates_with_the_service_account_token_and_pins_the_ca() {
    let cluster = start().await;
    let sa = service_account_dir(&cluster, &cluster.data_dir().join("ca.crt")).await;
    let env = Environment {
        service_host: Some("127.0.0.1".into()),
        service_port: Some(cluster.ports().apiserver.to_string()),
        service_account_dir: sa.path().to_path_buf(),
        home: None,
        ..Environment::default()
    };

    let conn = connect(None, &env).await.unwrap();
    assert!(
        matches!(conn.source, Source::InCluster { .. }),
        "{}",
        conn.source
    );
    assert_eq!(conn.default_namespace, "metallb-system");
    assert_eq!(
        whoami(conn.client).await,
        "system:serviceaccount:metallb-system:speaker"
    );

    // The same token with a CA that did not sign the apiserver's certificate: TLS refuses.
    let other = tempfile::tempdir().unwrap();
    lab::pki::Pki::create(other.path()).unwrap();
    std::fs::copy(other.path().join("ca.crt"), sa.path().join("ca.crt")).unwrap();
    let conn = connect(None, &env).await.unwrap();
    let reviews: Api<SelfSubjectReview> = Api::all(conn.client);
    match reviews
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
    {
        Err(kube::Error::Api(status)) => {
            panic!("reached the apiserver with a foreign CA: {status:?}")
        }
        Err(e) => {
            let chain = format!("{e:?}");
            // rustls: the other CA has the same name, so the signature is what fails.
            assert!(chain.contains("InvalidCertificate"), "{chain}");
        }
        Ok(review) => panic!("a foreign CA was accepted: {review:?}"),
    }
}
