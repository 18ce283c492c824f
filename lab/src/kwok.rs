//! What the lab tells kwok beyond its stock behaviour: leave the pods of some namespaces to
//! the lab's own kubelet (which runs them as real processes), and serve their logs.
//!
//! kwok moves every pod on its nodes to Running through Stage objects; [`leave_pods_to_lab`]
//! adds `metadata.namespace NotIn [...]` to each Pod stage's selector, so kwok neither marks
//! those pods Running nor finishes their deletion and the lab's kubelet owns their status.
//! kwok also answers the kubelet API's `/containerLogs` from `Logs` objects (its
//! `kwok.x-k8s.io` CRD, enabled with `--enable-crds=Logs`): [`LOGS_CRD`] defines the part of
//! that API kwok reads, and [`logs_object`] points one pod's containers at their log files.

use std::path::Path;

use serde_json::{Value, json};

/// A Stage file could not be read or rewritten.
#[derive(Debug, thiserror::Error)]
#[error("kwok stages {path}: {reason}")]
pub struct StagesError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// The Stage documents of `text` with every Pod stage's selector excluding `namespaces`,
/// rendered as YAML documents (JSON, one per document) separated by `---`.
pub fn leave_pods_to_lab(
    text: &str,
    namespaces: &[String],
    path: &Path,
) -> Result<String, StagesError> {
    let err = |reason: String| StagesError {
        path: path.display().to_string(),
        reason,
    };
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| err(e.to_string()))?;
    let mut out = String::new();
    for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
        if doc["kind"] != "Stage" {
            return Err(err(format!(
                "a {} document where Stages were expected",
                doc["kind"]
            )));
        }
        if doc["spec"]["resourceRef"]["kind"] == "Pod" && !namespaces.is_empty() {
            let selector = &mut doc["spec"]["selector"];
            if selector.is_null() {
                *selector = json!({});
            }
            let expressions = &mut selector["matchExpressions"];
            if expressions.is_null() {
                *expressions = json!([]);
            }
            let Some(list) = expressions.as_array_mut() else {
                return Err(err(format!(
                    "stage {}: matchExpressions is not a list",
                    doc["metadata"]["name"]
                )));
            };
            list.push(json!({
                "key": ".metadata.namespace",
                "operator": "NotIn",
                "values": namespaces,
            }));
        }
        out.push_str("---\n");
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// The `Logs` CRD of kwok (group `kwok.x-k8s.io`, version `v1alpha1`): the fields kwok reads,
/// written for the lab.
pub const LOGS_CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1",
  "kind": "CustomResourceDefinition",
  "metadata": {"name": "logs.kwok.x-k8s.io"},
  "spec": {
    "group": "kwok.x-k8s.io",
    "names": {"kind": "Logs", "listKind": "LogsList", "plural": "logs", "singular": "logs"},
    "scope": "Namespaced",
    "versions": [{
      "name": "v1alpha1",
      "served": true,
      "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {
        "description": "Where kwok finds the logs of one pod's containers.",
        "type": "object",
        "properties": {
          "spec": {
            "type": "object",
            "required": ["logs"],
            "properties": {"logs": {"type": "array", "items": {
              "type": "object",
              "properties": {
                "containers": {"type": "array", "items": {"type": "string"}},
                "logsFile": {"type": "string"},
                "previousLogsFile": {"type": "string"},
                "follow": {"type": "boolean"}
              }
            }}}
          },
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
      }}
    }]
  }
}"#;

/// One container's log files, as kwok's `Logs` object names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLogs {
    /// The container's name.
    pub container: String,
    /// The current run's log (CRI format).
    pub current: String,
    /// The previous run's log, for `kubectl logs --previous`.
    pub previous: String,
}

/// The `Logs` object for pod `namespace/name` (uid `uid`): owned by the pod, so it goes when
/// the pod goes.
pub fn logs_object(namespace: &str, name: &str, uid: &str, containers: &[ContainerLogs]) -> Value {
    let logs: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({
                "containers": [c.container],
                "logsFile": c.current,
                "previousLogsFile": c.previous,
                "follow": true,
            })
        })
        .collect();
    json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Logs",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "ownerReferences": [{
                "apiVersion": "v1",
                "kind": "Pod",
                "name": name,
                "uid": uid,
            }],
        },
        "spec": {"logs": logs},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGES: &str = "---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'NotIn'
      values: ['Running']
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
";

    fn stages(namespaces: &[&str]) -> Vec<Value> {
        let ns: Vec<String> = namespaces.iter().map(|s| (*s).to_owned()).collect();
        let text = leave_pods_to_lab(STAGES, &ns, Path::new("stages.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn pod_stages_exclude_the_labs_namespaces_and_node_stages_are_unchanged() {
        let docs = stages(&["metallb-system"]);
        assert_eq!(docs.len(), 3);
        let exclusion = json!({
            "key": ".metadata.namespace", "operator": "NotIn", "values": ["metallb-system"]
        });
        let node = &docs[0]["spec"]["selector"]["matchExpressions"];
        assert_eq!(node.as_array().map(Vec::len), Some(1));
        let ready = &docs[1]["spec"]["selector"]["matchExpressions"];
        assert_eq!(ready[1], exclusion);
        assert_eq!(ready[0]["key"], ".metadata.deletionTimestamp");
        // A stage without a selector gets one, so it no longer matches every pod.
        assert_eq!(
            docs[2]["spec"]["selector"]["matchExpressions"],
            json!([exclusion])
        );
    }

    #[test]
    fn no_namespaces_leaves_the_stages_as_they_are() {
        let docs = stages(&[]);
        assert!(docs[2]["spec"]["selector"].is_null());
        assert_eq!(
            docs[1]["spec"]["selector"]["matchExpressions"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn a_document_that_is_not_a_stage_is_an_error() {
        let err = leave_pods_to_lab("kind: Node\n", &[], Path::new("x.yaml"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("kwok stages x.yaml: a \"Node\" document where Stages were expected")
        );
    }

    #[test]
    fn logs_object_is_owned_by_its_pod_and_names_each_containers_files() {
        let obj = logs_object(
            "metallb-system",
            "speaker-x",
            "u-1",
            &[ContainerLogs {
                container: "speaker".into(),
                current: "/l/0.log".into(),
                previous: "/l/prev.log".into(),
            }],
        );
        assert_eq!(obj["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(obj["spec"]["logs"][0]["containers"], json!(["speaker"]));
        assert_eq!(obj["spec"]["logs"][0]["logsFile"], "/l/0.log");
        let crd: Value = serde_json::from_str(LOGS_CRD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(crd["metadata"]["name"], "logs.kwok.x-k8s.io");
    }
}
