//! Installing ferrolb into the lab the tutorial's way: `kubectl apply -f
//! manifests/metallb.yaml` with the lab's kubectl, then waiting until the lab's kubelets have
//! started every metallb-system pod (the controller's and one speaker per schedulable node)
//! and showing `kubectl get pods -n metallb-system -o wide`, whatever state they are in: a
//! pod that keeps failing is shown failing.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::binaries::{Binaries, Binary};
use crate::seed::{LabError, Step};

/// How long `lab up` waits for the pods to start.
const WAIT: Duration = Duration::from_secs(120);

fn ferrolb(message: String) -> LabError {
    LabError::Ferrolb(message)
}

/// Runs kubectl against the lab with `args`; its output, or an error with it.
fn kubectl(binaries: &Binaries, kubeconfig: &Path, args: &[&str]) -> Result<String, LabError> {
    let out = std::process::Command::new(binaries.path(Binary::Kubectl)?)
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .output()
        .map_err(|e| ferrolb(format!("running kubectl: {e}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(ferrolb(format!(
            "kubectl {} failed:\n{text}",
            args.join(" ")
        )))
    }
}

/// Whether the lab's kubelet has started (or tried to start) every container of `pod`.
fn taken(pod: &Pod) -> bool {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    statuses.is_some_and(|cs| {
        !cs.is_empty()
            && cs.iter().all(|c| {
                let waiting = c
                    .state
                    .as_ref()
                    .and_then(|s| s.waiting.as_ref())
                    .and_then(|w| w.reason.as_deref());
                c.restart_count > 0 || waiting != Some("ContainerCreating")
            })
    })
}

/// Whether `pod` is Running with every container ready.
fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c.ready))
}

async fn client(kubeconfig: &Path) -> Result<Client, LabError> {
    let err = |e: String| {
        ferrolb(format!(
            "the lab's kubeconfig {}: {e}",
            kubeconfig.display()
        ))
    };
    let kc = Kubeconfig::read_from(kubeconfig).map_err(|e| err(e.to_string()))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    Client::try_from(config).map_err(|e| err(e.to_string()))
}

/// `kubectl apply -f MANIFESTS/metallb.yaml`, then waits for its pods and shows them.
pub async fn install(
    binaries: &Binaries,
    manifests: &Path,
    kubeconfig: &Path,
) -> Result<(), LabError> {
    let file = manifests.join("metallb.yaml");
    let file_text = file.display().to_string();
    let step = Step::begin(&format!("ferrolb: kubectl apply -f {file_text}"));
    let out = kubectl(binaries, kubeconfig, &["apply", "-f", &file_text])?;
    for line in out.lines() {
        eprintln!("     {line}");
    }
    step.done();

    let step = Step::begin("ferrolb: the lab's kubelets start the metallb-system pods");
    let client = client(kubeconfig).await?;
    let pods: Api<Pod> = Api::namespaced(client, "metallb-system");
    let start = Instant::now();
    // The controller and a speaker on each worker (the speakers do not tolerate the
    // control-plane taint, as in the tutorial).
    let expected = 3;
    loop {
        let list = pods
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let all_taken = list.len() >= expected && list.iter().all(taken);
        let controller_ready = list.iter().any(|p| {
            p.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("controller-"))
                && ready(p)
        });
        if all_taken && controller_ready {
            break;
        }
        if start.elapsed() > WAIT {
            eprintln!("lab: not every metallb-system pod is up after {WAIT:?}; see below");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    step.done();
    let listing = kubectl(
        binaries,
        kubeconfig,
        &["get", "pods", "-n", "metallb-system", "-o", "wide"],
    )?;
    eprintln!("lab: kubectl get pods -n metallb-system -o wide");
    for line in listing.lines() {
        eprintln!("     {line}");
    }
    Ok(())
}
