//! What a container's `securityContext` (and its pod's) asks of the process, and the
//! `setpriv` arguments that make the process so: its user and groups, the capabilities it
//! keeps (the container runtime's default set, minus `drop`, plus `add`; everything when
//! privileged), no privilege escalation, and whether the root file system is read-only.
//! Running the real binary this way is what tests that the manifests' restrictions are
//! enough for it. Pure.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Container, PodSecurityContext, SecurityContext};

/// The capabilities containerd and CRI-O give a container unless told otherwise.
pub const RUNTIME_DEFAULT_CAPS: [&str; 14] = [
    "audit_write",
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "mknod",
    "net_bind_service",
    "net_raw",
    "setfcap",
    "setgid",
    "setpcap",
    "setuid",
    "sys_chroot",
];

/// The capabilities a process keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capabilities {
    /// All of them (a privileged container).
    All,
    /// These, by their lower-case names without `cap_` (`net_raw`).
    Set(BTreeSet<String>),
}

/// How the process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Its user id.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
    /// Its supplementary groups (`supplementalGroups` and `fsGroup`).
    pub groups: Vec<u32>,
    /// Its capabilities.
    pub capabilities: Capabilities,
    /// `allowPrivilegeEscalation: false`: no setuid binary or file capability can add rights.
    pub no_new_privs: bool,
    /// `readOnlyRootFilesystem: true`.
    pub read_only_root: bool,
}

/// The user and group an image runs as when the pod does not say (`USER` in its Dockerfile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageUser {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}

/// A security context the lab cannot honour, with the kubelet's wording where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecurityError(pub String);

fn cap_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    lower.strip_prefix("cap_").unwrap_or(&lower).to_owned()
}

/// The identity of `container` of pod `pod_name` in an image whose user is `image_user`.
pub fn identity(
    pod_name: &str,
    pod: Option<&PodSecurityContext>,
    container: &Container,
    image_user: ImageUser,
) -> Result<Identity, SecurityError> {
    let own: Option<&SecurityContext> = container.security_context.as_ref();
    let run_as_user = own
        .and_then(|s| s.run_as_user)
        .or_else(|| pod.and_then(|p| p.run_as_user));
    let run_as_group = own
        .and_then(|s| s.run_as_group)
        .or_else(|| pod.and_then(|p| p.run_as_group));
    let non_root = own
        .and_then(|s| s.run_as_non_root)
        .or_else(|| pod.and_then(|p| p.run_as_non_root))
        .unwrap_or(false);
    let id = |v: i64, what: &str| {
        u32::try_from(v).map_err(|_| SecurityError(format!("{what} {v} is not a valid id")))
    };
    let uid = match run_as_user {
        Some(u) => id(u, "runAsUser")?,
        None => image_user.uid,
    };
    let gid = match (run_as_group, run_as_user) {
        (Some(g), _) => id(g, "runAsGroup")?,
        (None, None) => image_user.gid,
        (None, Some(_)) => 0,
    };
    if non_root && uid == 0 {
        return Err(SecurityError(format!(
            "container has runAsNonRoot and image will run as root (pod: \"{pod_name}\", container: {})",
            container.name
        )));
    }
    let mut groups: Vec<u32> = Vec::new();
    if let Some(p) = pod {
        for g in p.supplemental_groups.iter().flatten() {
            groups.push(id(*g, "supplementalGroups")?);
        }
        if let Some(g) = p.fs_group {
            groups.push(id(g, "fsGroup")?);
        }
    }
    groups.sort_unstable();
    groups.dedup();

    let privileged = own.and_then(|s| s.privileged).unwrap_or(false);
    let capabilities = if privileged {
        Capabilities::All
    } else {
        let mut set: BTreeSet<String> = RUNTIME_DEFAULT_CAPS
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        let caps = own.and_then(|s| s.capabilities.as_ref());
        for name in caps.and_then(|c| c.drop.as_ref()).into_iter().flatten() {
            if cap_name(name) == "all" {
                set.clear();
            } else {
                set.remove(&cap_name(name));
            }
        }
        let added: Vec<String> = caps
            .and_then(|c| c.add.as_ref())
            .into_iter()
            .flatten()
            .map(|n| cap_name(n))
            .collect();
        if added.iter().any(|n| n == "all") {
            Capabilities::All
        } else {
            set.extend(added);
            Capabilities::Set(set)
        }
    };
    Ok(Identity {
        uid,
        gid,
        groups,
        capabilities,
        no_new_privs: !privileged && own.and_then(|s| s.allow_privilege_escalation) == Some(false),
        read_only_root: own.and_then(|s| s.read_only_root_filesystem) == Some(true),
    })
}

/// The arguments of `setpriv` (util-linux) that give a process `identity`, before `--`.
pub fn setpriv_args(identity: &Identity) -> Vec<String> {
    let mut args = vec![
        format!("--reuid={}", identity.uid),
        format!("--regid={}", identity.gid),
    ];
    if identity.groups.is_empty() {
        args.push("--clear-groups".to_owned());
    } else {
        let list: Vec<String> = identity.groups.iter().map(u32::to_string).collect();
        args.push(format!("--groups={}", list.join(",")));
    }
    if let Capabilities::Set(set) = &identity.capabilities {
        let list: String = set.iter().map(|c| format!(",+{c}")).collect();
        args.push(format!("--bounding-set=-all{list}"));
        args.push(format!("--inh-caps=-all{list}"));
        // A non-root process keeps capabilities across exec only as ambient ones.
        if identity.uid != 0 {
            args.push(format!("--ambient-caps=-all{list}"));
        }
    }
    if identity.no_new_privs {
        args.push("--no-new-privs".to_owned());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(security: serde_json::Value) -> Container {
        serde_json::from_value(serde_json::json!({"name": "c", "securityContext": security}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn pod(security: serde_json::Value) -> PodSecurityContext {
        serde_json::from_value(security).unwrap_or_else(|e| panic!("{e}"))
    }

    const NOBODY: ImageUser = ImageUser {
        uid: 65534,
        gid: 65534,
    };
    const ROOT: ImageUser = ImageUser { uid: 0, gid: 0 };

    fn set(names: &[&str]) -> Capabilities {
        Capabilities::Set(names.iter().map(|n| (*n).to_owned()).collect())
    }

    #[test]
    fn the_controllers_context_is_nobody_without_capabilities() {
        let pod = pod(serde_json::json!({
            "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534
        }));
        let c = container(serde_json::json!({
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]}
        }));
        let id = identity("controller-x", Some(&pod), &c, ROOT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            id,
            Identity {
                uid: 65534,
                gid: 65534,
                groups: vec![65534],
                capabilities: set(&[]),
                no_new_privs: true,
                read_only_root: true,
            }
        );
        assert_eq!(
            setpriv_args(&id),
            [
                "--reuid=65534",
                "--regid=65534",
                "--groups=65534",
                "--bounding-set=-all",
                "--inh-caps=-all",
                "--ambient-caps=-all",
                "--no-new-privs"
            ]
        );
    }

    #[test]
    fn added_capabilities_on_top_of_a_drop_all_and_the_image_user() {
        let c = container(serde_json::json!({
            "capabilities": {"drop": ["all"], "add": ["NET_RAW", "CAP_NET_ADMIN"]}
        }));
        let id = identity("p", None, &c, ROOT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((id.uid, id.gid), (0, 0));
        assert_eq!(id.capabilities, set(&["net_admin", "net_raw"]));
        assert!(!id.no_new_privs && !id.read_only_root);
        assert_eq!(
            setpriv_args(&id),
            [
                "--reuid=0",
                "--regid=0",
                "--clear-groups",
                "--bounding-set=-all,+net_admin,+net_raw",
                "--inh-caps=-all,+net_admin,+net_raw"
            ]
        );
    }

    #[test]
    fn defaults_are_the_runtimes_capabilities_minus_what_is_dropped() {
        let id = identity("p", None, &container(serde_json::json!({})), NOBODY)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((id.uid, id.gid), (65534, 65534));
        assert_eq!(id.capabilities, set(&RUNTIME_DEFAULT_CAPS));
        let c = container(serde_json::json!({"capabilities": {"drop": ["NET_RAW", "KILL"]}}));
        let id = identity("p", None, &c, ROOT).unwrap_or_else(|e| panic!("{e}"));
        let Capabilities::Set(caps) = id.capabilities else {
            panic!("a set")
        };
        assert!(!caps.contains("net_raw") && !caps.contains("kill") && caps.contains("chown"));
    }

    #[test]
    fn privileged_keeps_everything_and_container_settings_win_over_the_pods() {
        let c = container(serde_json::json!({"privileged": true, "runAsUser": 1000}));
        let pod = pod(serde_json::json!({"runAsUser": 2000, "runAsGroup": 3000}));
        let id = identity("p", Some(&pod), &c, ROOT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((id.uid, id.gid), (1000, 3000));
        assert_eq!(id.capabilities, Capabilities::All);
        assert_eq!(
            setpriv_args(&id),
            ["--reuid=1000", "--regid=3000", "--clear-groups"]
        );
    }

    #[test]
    fn run_as_non_root_refuses_a_root_image_with_the_kubelets_message() {
        let pod = pod(serde_json::json!({"runAsNonRoot": true}));
        let err = identity(
            "speaker-x",
            Some(&pod),
            &container(serde_json::json!({})),
            ROOT,
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "container has runAsNonRoot and image will run as root (pod: \"speaker-x\", container: c)"
            )
        );
        let bad = pod_with_user(-1);
        assert!(identity("p", Some(&bad), &container(serde_json::json!({})), ROOT).is_err());
    }

    fn pod_with_user(uid: i64) -> PodSecurityContext {
        pod(serde_json::json!({"runAsUser": uid}))
    }
}
