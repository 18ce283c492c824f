//! The lab's own programs on each Kubernetes node: a kubelet for the pods kwok leaves to
//! the lab ([`crate::kubelet`]) and a kube-proxy stand-in ([`crate::kube_proxy`]), both
//! `lab` itself with a hidden subcommand, started by `lab up` like any [`ExtraProcess`].

use std::path::{Path, PathBuf};

use crate::cluster::Ports;
use crate::network::HOSTS;
use crate::seed::{CONTROL_PLANE_NETNS, ExtraProcess, LabError, PLAYED_NAMESPACES};

/// ferrolb's programs the lab runs.
pub const FERROLB_BINARIES: [&str; 3] = ["controller", "speaker", "mini-router"];

/// Fails, saying how to build them, when ferrolb's programs are not in `dir`.
pub fn check_binaries(dir: &Path) -> Result<(), LabError> {
    let missing: Vec<&str> = FERROLB_BINARIES
        .into_iter()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(LabError::Ferrolb(format!(
        "{} not found in {}: build them with `cargo build -p controller -p speaker -p mini-router` \
         (the lab looks next to its own binary, or in $FERROLB_BIN)",
        missing.join(", "),
        dir.display()
    )))
}

/// Creates the directory where pods find their ServiceAccount (the kubelet mounts each
/// pod's over it, in the pod's own mount namespace); returns the directories it created.
pub fn service_account_mount_point() -> Result<Vec<PathBuf>, LabError> {
    let target = Path::new(crate::kubelet::account::MOUNT_POINT);
    let mut missing: Vec<PathBuf> = target
        .ancestors()
        .take_while(|p| !p.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    std::fs::create_dir_all(target).map_err(|e| LabError::State {
        path: target.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(missing)
}

/// The kubelet and the kube-proxy stand-in of every node, for the lab whose state is in
/// `dir` and whose admin kubeconfig is `kubeconfig`.
pub fn processes(dir: &Path, kubeconfig: &Path) -> Vec<ExtraProcess> {
    let lab = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lab"));
    let kwok = HOSTS
        .iter()
        .find(|h| h.netns == CONTROL_PLANE_NETNS)
        .map(|h| format!("{}:{}", h.address, Ports::WELL_KNOWN.kwok))
        .unwrap_or_default();
    let mut out = Vec::new();
    for host in HOSTS.iter().filter(|h| h.pod_cidr.is_some()) {
        let mut args = vec![
            "kubelet".to_owned(),
            format!("--node={}", host.netns),
            format!("--netns={}", host.netns),
            format!("--kubeconfig={}", kubeconfig.display()),
            format!("--pods-dir={}", dir.join("pods").display()),
        ];
        args.extend(
            PLAYED_NAMESPACES
                .iter()
                .map(|ns| format!("--namespace={ns}")),
        );
        // kwok itself listens on kube-master's kubelet port; the others pass theirs on.
        if host.netns != CONTROL_PLANE_NETNS {
            args.push(format!(
                "--forward={}:{}={kwok}",
                host.address,
                Ports::WELL_KNOWN.kwok
            ));
        }
        out.push(ExtraProcess {
            name: format!("kubelet-{}", host.netns),
            netns: host.netns.to_owned(),
            program: lab.clone(),
            args,
            enters_netns_itself: true,
        });
        out.push(ExtraProcess {
            name: format!("kube-proxy-{}", host.netns),
            netns: host.netns.to_owned(),
            program: lab.clone(),
            args: vec![
                "kube-proxy".to_owned(),
                format!("--node={}", host.netns),
                format!("--netns={}", host.netns),
                format!("--kubeconfig={}", kubeconfig.display()),
            ],
            enters_netns_itself: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_gets_a_kubelet_and_a_kube_proxy_and_workers_forward_to_kwok() {
        let procs = processes(
            Path::new("/run/ferrolb-lab"),
            Path::new("/run/ferrolb-lab/kubeconfig"),
        );
        let names: Vec<&str> = procs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kubelet-kube-master",
                "kube-proxy-kube-master",
                "kubelet-kube-node-1",
                "kube-proxy-kube-node-1",
                "kubelet-kube-node-2",
                "kube-proxy-kube-node-2"
            ]
        );
        assert!(procs.iter().all(|p| p.enters_netns_itself));
        let node1 = &procs[2];
        assert!(
            node1
                .args
                .contains(&"--forward=10.192.0.3:10250=10.192.0.2:10250".to_owned())
        );
        assert!(
            node1
                .args
                .contains(&"--namespace=metallb-system".to_owned())
        );
        assert!(!procs[0].args.iter().any(|a| a.starts_with("--forward")));
    }

    #[test]
    fn missing_binaries_are_named_with_the_build_command() {
        let err = check_binaries(Path::new("/nonexistent-ferrolb"))
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(
            msg.starts_with("controller, speaker, mini-router not found"),
            "{msg}"
        );
        assert!(
            msg.contains("cargo build -p controller -p speaker -p mini-router"),
            "{msg}"
        );
    }
}
