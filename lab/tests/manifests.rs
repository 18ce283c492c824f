//! The shipped manifests go into a real kube-apiserver the way the tutorial applies them,
//! with the real kubectl: `metallb.yaml`, then the configuration (the legacy ConfigMap and
//! the equivalent CRs) and `tutorial-2.yaml`, each first with a server-side dry run (which
//! stores nothing) and then for real. The RBAC they create is asked about with
//! `kubectl auth can-i`: each component gets what it uses and not what it does not.
//!
//! Needs the binaries of `lab/scripts/build-control-plane.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lab::{Binaries, Binary, Cluster, ClusterConfig};

fn manifest(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../manifests")
        .join(name)
}

struct Kubectl {
    program: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(&self.program)
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, text) = self.run(args);
        assert!(ok, "kubectl {} failed:\n{text}", args.join(" "));
        text
    }

    /// The names of the objects of `kind` in `namespace` (all namespaces when `None`).
    fn names(&self, kind: &str, namespace: Option<&str>) -> Vec<String> {
        let mut args = vec!["get", kind, "-o", "name", "--ignore-not-found"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        self.ok(&args).lines().map(str::to_owned).collect()
    }

    fn can(&self, who: &str, verb: &str, resource: &str, namespace: &str) -> bool {
        let account = format!("--as=system:serviceaccount:metallb-system:{who}");
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, sub)) => (r, Some(format!("--subresource={sub}"))),
            None => (resource, None),
        };
        let mut args = vec!["auth", "can-i", &account, verb, resource];
        args.extend(subresource.as_deref());
        if !namespace.is_empty() {
            args.extend(["-n", namespace]);
        }
        let (_, text) = self.run(&args);
        text.lines().next().map(str::trim) == Some("yes")
    }
}

#[tokio::test]
async fn manifests_apply_with_a_server_side_dry_run_and_for_real() {
    let cluster = match Cluster::start(ClusterConfig::apiserver_only()).await {
        Ok(c) => c,
        Err(e) => panic!("the cluster did not start: {e}"),
    };
    let kubectl = Kubectl {
        program: Binaries::from_env().path(Binary::Kubectl).unwrap(),
        kubeconfig: cluster.kubeconfig().to_owned(),
    };
    let metallb = manifest("metallb.yaml");
    let metallb = metallb.to_str().unwrap();

    // A server-side dry run stores nothing. The namespaced objects need their namespace to
    // exist even in a dry run, so the namespace alone is dry-run first, then created, then
    // the whole manifest is dry-run.
    let namespace = manifest("parts/namespace.yaml");
    let namespace = namespace.to_str().unwrap();
    let dry = kubectl.ok(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        namespace,
    ]);
    assert!(
        dry.contains("namespace/metallb-system serverside-applied (server dry run)"),
        "{dry}"
    );
    assert!(
        kubectl
            .names("namespace", None)
            .iter()
            .all(|n| n != "namespace/metallb-system")
    );
    kubectl.ok(&["apply", "-f", namespace]);
    let dry = kubectl.ok(&["apply", "--server-side", "--dry-run=server", "-f", metallb]);
    for object in [
        "customresourcedefinition.apiextensions.k8s.io/bgppeers.metallb.io",
        "clusterrole.rbac.authorization.k8s.io/metallb-system:speaker",
        "deployment.apps/controller",
        "daemonset.apps/speaker",
    ] {
        assert!(
            dry.contains(&format!("{object} serverside-applied (server dry run)")),
            "{dry}"
        );
    }
    assert!(
        kubectl.names("crd", None).is_empty(),
        "a dry run stored CRDs"
    );
    assert!(
        kubectl
            .names("deployment", Some("metallb-system"))
            .is_empty()
    );

    // The tutorial's step: `kubectl apply -f manifests/metallb.yaml`.
    let applied = kubectl.ok(&["apply", "-f", metallb]);
    for line in [
        "namespace/metallb-system unchanged",
        "customresourcedefinition.apiextensions.k8s.io/ipaddresspools.metallb.io created",
        "customresourcedefinition.apiextensions.k8s.io/bgppeers.metallb.io created",
        "serviceaccount/controller created",
        "serviceaccount/speaker created",
        "clusterrole.rbac.authorization.k8s.io/metallb-system:controller created",
        "clusterrole.rbac.authorization.k8s.io/metallb-system:speaker created",
        "deployment.apps/controller created",
        "daemonset.apps/speaker created",
    ] {
        assert!(applied.contains(line), "no {line:?} in:\n{applied}");
    }
    // Applying it again (the way an upgrade is applied) creates nothing and changes nothing.
    // kubectl's client-side apply cannot diff inside a CRD's `default: {}` (the five kinds
    // whose spec may be omitted), so it sends those defaults again and says "configured"
    // for those CRDs; the server-side dry run below shows the objects are the same.
    let again = kubectl.ok(&["apply", "-f", metallb]);
    assert!(!again.contains(" created"), "{again}");
    let changed: Vec<&str> = again
        .lines()
        .filter(|l| l.ends_with(" configured"))
        .filter(|l| !l.starts_with("customresourcedefinition.apiextensions.k8s.io/"))
        .collect();
    assert!(changed.is_empty(), "re-applying changed {changed:?}");

    kubectl.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd",
        "--all",
    ]);

    // The configuration and the tutorial's workload: a dry run stores nothing, then for real.
    for (file, objects) in [
        ("example-config.yaml", vec!["configmap/config"]),
        (
            "example-crs.yaml",
            vec![
                "ipaddresspool.metallb.io/my-ip-space",
                "bgppeer.metallb.io/peer1",
                "bgpadvertisement.metallb.io/bgpadvertisement1",
            ],
        ),
        (
            "tutorial-2.yaml",
            vec!["deployment.apps/nginx", "service/nginx"],
        ),
    ] {
        let path = manifest(file);
        let path = path.to_str().unwrap();
        let dry = kubectl.ok(&["apply", "--server-side", "--dry-run=server", "-f", path]);
        for object in &objects {
            assert!(
                dry.contains(&format!("{object} serverside-applied (server dry run)")),
                "{file}: {dry}"
            );
        }
        let kind_of = |o: &str| o.split('/').next().unwrap_or_default().to_owned();
        let namespace = if file == "tutorial-2.yaml" {
            "default"
        } else {
            "metallb-system"
        };
        for object in &objects {
            let present = kubectl.names(&kind_of(object), Some(namespace));
            assert!(
                !present
                    .iter()
                    .any(|p| p.ends_with(object.split('/').nth(1).unwrap())),
                "the dry run of {file} stored {object}"
            );
        }
        let real = kubectl.ok(&["apply", "-f", path]);
        for object in &objects {
            assert!(
                real.contains(&format!("{object} created")),
                "{file}: {real}"
            );
        }
    }
    let service = kubectl.ok(&[
        "get",
        "service",
        "nginx",
        "-o",
        "jsonpath={.spec.type} {.spec.ports[0].port}",
    ]);
    assert_eq!(service, "LoadBalancer 80");

    // The RBAC as shipped: what each component uses, and a sample of what it does not get.
    let ns = "metallb-system";
    for (who, verb, resource, namespace) in [
        ("controller", "watch", "services", "default"),
        ("controller", "patch", "services/status", "default"),
        ("controller", "create", "events.events.k8s.io", "default"),
        ("controller", "watch", "ipaddresspools.metallb.io", ns),
        ("controller", "watch", "configmaps", ns),
        (
            "speaker",
            "watch",
            "endpointslices.discovery.k8s.io",
            "default",
        ),
        ("speaker", "watch", "nodes", ""),
        ("speaker", "watch", "secrets", ns),
        ("speaker", "watch", "bgppeers.metallb.io", ns),
        ("speaker", "create", "servicebgpstatuses.metallb.io", ns),
        // Its own Pod: the owner of its ServiceBGPStatus objects.
        ("speaker", "get", "pods", ns),
    ] {
        assert!(
            kubectl.can(who, verb, resource, namespace),
            "{who} cannot {verb} {resource}"
        );
    }
    for (who, verb, resource, namespace) in [
        ("controller", "update", "services", "default"),
        ("controller", "watch", "secrets", ns),
        ("controller", "watch", "pods", ns),
        (
            "controller",
            "create",
            "customresourcedefinitions.apiextensions.k8s.io",
            "",
        ),
        ("speaker", "watch", "secrets", "default"),
        ("speaker", "patch", "services/status", "default"),
        ("speaker", "watch", "endpoints", "default"),
        ("speaker", "create", "ipaddresspools.metallb.io", ns),
        ("speaker", "list", "pods", ns),
    ] {
        assert!(
            !kubectl.can(who, verb, resource, namespace),
            "{who} can {verb} {resource}"
        );
    }
}
