//! From a pod's spec to the process the lab starts for each container, as a kubelet and a
//! container runtime would make it: the program of the image (ferrolb's images hold one
//! binary each, which cargo built next to `lab`), the arguments, the environment (the
//! kubelet's own variables, `value`s, the downward API, ConfigMap and Secret keys, each
//! `$(VAR)`-expanded) and the identity of [`super::security`]. Pure: what needs the API
//! (ConfigMaps, Secrets) is fetched first and passed in as [`EnvSources`].
//!
//! Images other than ferrolb's are not played: the container waits with `ErrImagePull`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, EnvVar, ObjectFieldSelector, Pod};

use super::expand::expand;
use super::security::{self, Identity, ImageUser};

/// The programs of ferrolb's images and the user each image runs as: the images the lab
/// can run (see `scripts/build-images.sh`).
pub const IMAGES: [(&str, ImageUser, &[&str]); 3] = [
    (
        "controller",
        ImageUser {
            uid: 65534,
            gid: 65534,
        },
        &[],
    ),
    (
        "speaker",
        ImageUser {
            uid: 65534,
            gid: 65534,
        },
        &[],
    ),
    (
        "mini-router",
        ImageUser { uid: 0, gid: 0 },
        &["--asn", "64512", "--listen-range", "10.192.0.0/24"],
    ),
];

/// The `PATH` of an image without an `ENV PATH` (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the kubelet knows about its node and the cluster.
#[derive(Debug, Clone)]
pub struct NodeContext {
    /// The node's name.
    pub node_name: String,
    /// The node's InternalIP (`status.hostIP` of its pods).
    pub host_ip: IpAddr,
    /// Where pods reach the apiserver (`KUBERNETES_SERVICE_HOST`): the lab routes no
    /// ClusterIPs, so this is the apiserver's own address.
    pub apiserver_host: String,
    /// `KUBERNETES_SERVICE_PORT`.
    pub apiserver_port: u16,
    /// Where the images' programs are.
    pub bin_dir: PathBuf,
}

/// The ConfigMaps and Secrets of the pod's namespace that its environment names, by name.
#[derive(Debug, Clone, Default)]
pub struct EnvSources {
    /// ConfigMaps' data.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets' data, decoded.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
}

/// The process for one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The container's name.
    pub container: String,
    /// The image as the pod names it.
    pub image: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment.
    pub env: Vec<(String, String)>,
    /// Who it runs as.
    pub identity: Identity,
}

/// Why a container cannot be started, as the kubelet reports it in its waiting state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct LaunchError {
    /// The waiting reason (`ErrImagePull`, `CreateContainerConfigError`, …).
    pub reason: &'static str,
    /// What is wrong.
    pub message: String,
}

fn config_error(message: String) -> LaunchError {
    LaunchError {
        reason: "CreateContainerConfigError",
        message,
    }
}

/// The ferrolb image `image` names (`ferrolb/controller:v0.1.0`, with any registry in
/// front), if it is one.
pub fn ferrolb_image(image: &str) -> Option<&'static str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let repository = match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    };
    let (owner, name) = repository.rsplit_once('/')?;
    let owner = owner.rsplit('/').next().unwrap_or(owner);
    if owner != "ferrolb" {
        return None;
    }
    IMAGES.iter().map(|(n, _, _)| *n).find(|n| *n == name)
}

/// The names of the ConfigMaps and Secrets the environment of `pod` reads, as
/// `(config_maps, secrets)`.
pub fn referenced_sources(pod: &Pod) -> (Vec<String>, Vec<String>) {
    let mut maps = Vec::new();
    let mut secrets = Vec::new();
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    for var in containers.iter().flat_map(|c| c.env.iter().flatten()) {
        let Some(from) = &var.value_from else {
            continue;
        };
        if let Some(r) = &from.config_map_key_ref {
            maps.push(r.name.clone());
        }
        if let Some(r) = &from.secret_key_ref {
            secrets.push(r.name.clone());
        }
    }
    maps.sort();
    maps.dedup();
    secrets.sort();
    secrets.dedup();
    (maps, secrets)
}

/// The value of a downward-API `fieldRef`.
fn field(
    pod: &Pod,
    node: &NodeContext,
    pod_ip: IpAddr,
    selector: &ObjectFieldSelector,
) -> Result<String, String> {
    let meta = &pod.metadata;
    let path = selector.field_path.as_str();
    let from_map = |map: &Option<BTreeMap<String, String>>, prefix: &str| -> Option<String> {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(
            map.as_ref()
                .and_then(|m| m.get(key))
                .cloned()
                .unwrap_or_default(),
        )
    };
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => node.node_name.clone(),
        "spec.serviceAccountName" => pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_owned()),
        "status.hostIP" | "status.hostIPs" => node.host_ip.to_string(),
        "status.podIP" | "status.podIPs" => pod_ip.to_string(),
        _ => from_map(&meta.labels, "metadata.labels['")
            .or_else(|| from_map(&meta.annotations, "metadata.annotations['"))
            .ok_or_else(|| {
                format!("the downward API field {path:?} is not supported by the lab")
            })?,
    };
    Ok(value)
}

/// The value of one environment variable, or why it has none.
fn env_value(
    var: &EnvVar,
    pod: &Pod,
    node: &NodeContext,
    pod_ip: IpAddr,
    sources: &EnvSources,
) -> Result<Option<String>, String> {
    let Some(from) = &var.value_from else {
        return Ok(Some(var.value.clone().unwrap_or_default()));
    };
    if let Some(f) = &from.field_ref {
        return field(pod, node, pod_ip, f).map(Some);
    }
    let keyed = |kind: &str,
                 store: &BTreeMap<String, BTreeMap<String, String>>,
                 name: &str,
                 key: &str,
                 optional: Option<bool>| {
        match store.get(name).map(|data| data.get(key)) {
            Some(Some(v)) => Ok(Some(v.clone())),
            _ if optional == Some(true) => Ok(None),
            Some(None) => Err(format!("couldn't find key {key} in {kind} {name}")),
            None => Err(format!("{kind} \"{name}\" not found")),
        }
    };
    if let Some(r) = &from.config_map_key_ref {
        return keyed(
            "ConfigMap",
            &sources.config_maps,
            &r.name,
            &r.key,
            r.optional,
        );
    }
    if let Some(r) = &from.secret_key_ref {
        return keyed("Secret", &sources.secrets, &r.name, &r.key, r.optional);
    }
    Err(format!(
        "the value source of environment variable {} is not supported by the lab",
        var.name
    ))
}

/// The process for `container` of `pod`, whose address is `pod_ip`.
pub fn launch(
    pod: &Pod,
    container: &Container,
    node: &NodeContext,
    pod_ip: IpAddr,
    sources: &EnvSources,
) -> Result<Launch, LaunchError> {
    let image = container.image.clone().unwrap_or_default();
    let Some((name, image_user, default_args)) = ferrolb_image(&image)
        .and_then(|n| IMAGES.iter().find(|(i, _, _)| *i == n))
        .copied()
    else {
        return Err(LaunchError {
            reason: "ErrImagePull",
            message: format!(
                "the lab runs only ferrolb's images (ferrolb/controller, ferrolb/speaker, \
                 ferrolb/mini-router); {image:?} is not one of them"
            ),
        });
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let hostname = if pod.spec.as_ref().and_then(|s| s.host_network) == Some(true) {
        node.node_name.clone()
    } else {
        pod_name.clone()
    };
    let mut env: Vec<(String, String)> = vec![
        ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
        ("HOSTNAME".to_owned(), hostname),
        (
            "KUBERNETES_SERVICE_HOST".to_owned(),
            node.apiserver_host.clone(),
        ),
        (
            "KUBERNETES_SERVICE_PORT".to_owned(),
            node.apiserver_port.to_string(),
        ),
        (
            "KUBERNETES_SERVICE_PORT_HTTPS".to_owned(),
            node.apiserver_port.to_string(),
        ),
    ];
    for var in container.env.iter().flatten() {
        let value = env_value(var, pod, node, pod_ip, sources).map_err(config_error)?;
        if let Some(value) = value {
            let expanded = expand(&value, |n| lookup(&env, n));
            env.retain(|(k, _)| *k != var.name);
            env.push((var.name.clone(), expanded));
        }
    }
    let program = node.bin_dir.join(name);
    let own = format!("/bin/{name}");
    let mut args: Vec<String> = match &container.command {
        Some(command) if !command.is_empty() => {
            if command.first().map(String::as_str) != Some(own.as_str()) {
                return Err(LaunchError {
                    reason: "CreateContainerError",
                    message: format!(
                        "the image {image} runs only {own}; command {command:?} is not it"
                    ),
                });
            }
            command.iter().skip(1).cloned().collect()
        }
        _ => Vec::new(),
    };
    match &container.args {
        Some(a) => args.extend(a.iter().cloned()),
        None if container.command.is_none() => {
            args.extend(default_args.iter().map(|s| (*s).to_owned()));
        }
        None => {}
    }
    let args = args
        .iter()
        .map(|a| expand(a, |n| lookup(&env, n)))
        .collect();
    let pod_security = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let identity = security::identity(&pod_name, pod_security, container, image_user)
        .map_err(|e| config_error(e.0))?;
    Ok(Launch {
        container: container.name.clone(),
        image,
        program,
        args,
        env,
        identity,
    })
}

fn lookup(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Where the images' programs are: `$FERROLB_BIN` when set, else the directory of the
/// running `lab` binary (cargo builds them side by side).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERROLB_BIN") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "speaker-b6kng", "namespace": "metallb-system", "uid": "u-1",
                         "labels": {"app": "metallb"}},
            "spec": spec,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn node() -> NodeContext {
        NodeContext {
            node_name: "kube-node-1".into(),
            host_ip: "10.192.0.3".parse().unwrap_or_else(|e| panic!("{e}")),
            apiserver_host: "10.192.0.2".into(),
            apiserver_port: 6443,
            bin_dir: PathBuf::from("/b"),
        }
    }

    fn plan(p: &Pod, sources: &EnvSources) -> Result<Launch, LaunchError> {
        let spec = p.spec.as_ref().unwrap_or_else(|| panic!("spec"));
        let ip = "10.192.0.3".parse().unwrap_or_else(|e| panic!("{e}"));
        launch(p, &spec.containers[0], &node(), ip, sources)
    }

    fn env_of<'a>(l: &'a Launch, name: &str) -> Option<&'a str> {
        l.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn ferrolb_images_are_recognised_with_any_registry_tag_or_digest() {
        for (image, want) in [
            ("ferrolb/controller:v0.1.0", Some("controller")),
            ("ferrolb/speaker", Some("speaker")),
            ("docker.io/ferrolb/mini-router:latest", Some("mini-router")),
            ("localhost:5000/ferrolb/speaker:v0.1.0", Some("speaker")),
            ("ferrolb/speaker@sha256:abcd", Some("speaker")),
            ("quay.io/metallb/speaker:v0.16.2", None),
            ("nginx:1", None),
            ("ferrolb/nginx:1", None),
        ] {
            assert_eq!(ferrolb_image(image), want, "{image}");
        }
    }

    #[test]
    fn the_speakers_environment_comes_from_the_downward_api() {
        let p = pod(serde_json::json!({
            "hostNetwork": true,
            "containers": [{
                "name": "speaker", "image": "ferrolb/speaker:v0.1.0",
                "args": ["--port=7472", "--node=$(METALLB_NODE_NAME)"],
                "env": [
                    {"name": "METALLB_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "METALLB_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                    {"name": "METALLB_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "WHERE", "value": "$(METALLB_NODE_NAME)/$(APP)"},
                ],
            }],
        }));
        let l = plan(&p, &EnvSources::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.program, PathBuf::from("/b/speaker"));
        assert_eq!(l.args, ["--port=7472", "--node=kube-node-1"]);
        assert_eq!(env_of(&l, "METALLB_NODE_NAME"), Some("kube-node-1"));
        assert_eq!(env_of(&l, "METALLB_HOST"), Some("10.192.0.3"));
        assert_eq!(env_of(&l, "METALLB_POD_NAME"), Some("speaker-b6kng"));
        assert_eq!(env_of(&l, "WHERE"), Some("kube-node-1/metallb"));
        assert_eq!(env_of(&l, "KUBERNETES_SERVICE_HOST"), Some("10.192.0.2"));
        assert_eq!(env_of(&l, "KUBERNETES_SERVICE_PORT"), Some("6443"));
        assert_eq!(
            env_of(&l, "HOSTNAME"),
            Some("kube-node-1"),
            "hostNetwork: the node's"
        );
        assert_eq!(
            (l.identity.uid, l.identity.gid),
            (65534, 65534),
            "the image's user"
        );
    }

    #[test]
    fn other_images_wait_with_err_image_pull() {
        let p = pod(serde_json::json!({"containers": [{"name": "nginx", "image": "nginx:1"}]}));
        let err = plan(&p, &EnvSources::default()).err();
        assert_eq!(err.as_ref().map(|e| e.reason), Some("ErrImagePull"));
        assert!(err.is_some_and(|e| e.message.contains("\"nginx:1\"")));
    }

    #[test]
    fn config_map_and_secret_keys_and_missing_ones() {
        let p = pod(serde_json::json!({"containers": [{
            "name": "c", "image": "ferrolb/controller:v0.1.0",
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "a"}}},
                {"name": "S", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "s"}}},
                {"name": "O", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "x", "optional": true}}},
            ],
        }]}));
        assert_eq!(
            referenced_sources(&p),
            (
                vec!["cm".to_owned()],
                vec!["gone".to_owned(), "sec".to_owned()]
            )
        );
        let mut sources = EnvSources::default();
        sources
            .config_maps
            .insert("cm".into(), [("a".into(), "1".into())].into());
        let err = plan(&p, &sources).err();
        assert_eq!(
            err,
            Some(LaunchError {
                reason: "CreateContainerConfigError",
                message: "Secret \"sec\" not found".into()
            })
        );
        sources
            .secrets
            .insert("sec".into(), [("s".into(), "2".into())].into());
        let l = plan(&p, &sources).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (env_of(&l, "A"), env_of(&l, "S"), env_of(&l, "O")),
            (Some("1"), Some("2"), None)
        );
    }

    #[test]
    fn command_must_be_the_images_program_and_cmd_applies_without_args() {
        let p = pod(serde_json::json!({"containers": [{
            "name": "r", "image": "ferrolb/mini-router:v0.1.0"
        }]}));
        let l = plan(&p, &EnvSources::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            l.args,
            ["--asn", "64512", "--listen-range", "10.192.0.0/24"]
        );
        assert_eq!(l.identity.uid, 0);
        let p = pod(serde_json::json!({"containers": [{
            "name": "r", "image": "ferrolb/mini-router:v0.1.0",
            "command": ["/bin/mini-router", "--no-fib"]
        }]}));
        let l = plan(&p, &EnvSources::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.args, ["--no-fib"]);
        let p = pod(serde_json::json!({"containers": [{
            "name": "r", "image": "ferrolb/mini-router:v0.1.0", "command": ["/bin/sh"]
        }]}));
        assert_eq!(
            plan(&p, &EnvSources::default()).err().map(|e| e.reason),
            Some("CreateContainerError")
        );
    }

    #[test]
    fn an_unsupported_field_is_a_config_error() {
        let p = pod(serde_json::json!({"containers": [{
            "name": "c", "image": "ferrolb/controller:v0.1.0",
            "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.schedulerName"}}}],
        }]}));
        let err = plan(&p, &EnvSources::default()).err();
        assert_eq!(err.map(|e| e.reason), Some("CreateContainerConfigError"));
    }
}
