//! ferrolb's installation manifest, `manifests/metallb.yaml`: what the tutorial's
//! `kubectl apply -f manifests/metallb.yaml` installs. It is assembled from the hand-written
//! parts in `manifests/parts/` (namespace, RBAC, Deployment, DaemonSet) and the CRDs
//! generated from lb-config's types, in an order `kubectl apply` can take in one go; a test
//! fails when the committed file is not what [`generate`] gives.
//!
//! [`assemble`] is pure; [`read_parts`] and [`generate`] read the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::crd::manifest::{self, RenderError};

/// The command that regenerates `manifests/crds/` and `manifests/metallb.yaml`, named in the
/// file's header and in the staleness test.
pub const REGENERATE: &str = "cargo run -p lb-config --bin crdgen -- --manifests manifests";

/// The assembled manifest's file name, in the manifests directory.
pub const FILE: &str = "metallb.yaml";

/// One piece of the manifest, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A file of `manifests/parts/`.
    File(&'static str),
    /// Every generated CRD.
    Crds,
}

/// The manifest's pieces: the namespace first (everything else lives in it), the CRDs, the
/// identities and their rights, then the workloads that use them.
pub const PARTS: [Part; 6] = [
    Part::File("namespace.yaml"),
    Part::Crds,
    Part::File("controller-rbac.yaml"),
    Part::File("speaker-rbac.yaml"),
    Part::File("controller.yaml"),
    Part::File("speaker.yaml"),
];

/// Why the manifest could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A part the manifest needs is not in the parts directory.
    #[error("manifests/parts/{name} is missing: the manifest is assembled from it")]
    MissingPart {
        /// The file name.
        name: String,
    },
    /// A file in the parts directory is not one of [`PARTS`]: it would be left out.
    #[error(
        "manifests/parts/{name} is not one of the parts metallb.yaml is assembled from; \
         add it to lb_config::install::PARTS or remove it"
    )]
    UnknownPart {
        /// The file name.
        name: String,
    },
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A CRD could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The manifest from the parts' texts (by file name) and the CRDs' YAML documents (each
/// without a leading `---`). Every document is preceded by `---`; each part keeps its
/// comments, under a line naming the file it came from.
pub fn assemble(
    parts: &BTreeMap<String, String>,
    crds: &[String],
) -> Result<String, AssembleError> {
    let known = |name: &str| {
        PARTS
            .iter()
            .any(|p| matches!(p, Part::File(n) if *n == name))
    };
    if let Some(name) = parts.keys().find(|name| !known(name)) {
        return Err(AssembleError::UnknownPart { name: name.clone() });
    }
    let mut out = format!(
        "# ferrolb: the controller, the speakers and everything they need, for\n\
         # `kubectl apply -f manifests/metallb.yaml`.\n\
         # Assembled from manifests/parts/ and lb-config's CRD types by `{REGENERATE}`;\n\
         # do not edit (edit the parts and run that command).\n"
    );
    for part in PARTS {
        match part {
            Part::File(name) => {
                let text = parts.get(name).ok_or_else(|| AssembleError::MissingPart {
                    name: name.to_owned(),
                })?;
                out.push_str(&format!("---\n# Source: manifests/parts/{name}\n"));
                let body = text.strip_prefix("---\n").unwrap_or(text);
                out.push_str(body);
                if !body.ends_with('\n') {
                    out.push('\n');
                }
            }
            Part::Crds => {
                for crd in crds {
                    out.push_str("---\n# Source: lb-config's CRD types (manifests/crds/)\n");
                    out.push_str(crd);
                    if !crd.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The `*.yaml` files of a parts directory, by file name.
pub fn read_parts(dir: &Path) -> Result<BTreeMap<String, String>, AssembleError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| AssembleError::Read { path, source }
    };
    let mut parts = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let entry = entry.map_err(read_err(dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !name.ends_with(".yaml") {
            continue;
        }
        let path = entry.path();
        let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
        parts.insert(name, text);
    }
    Ok(parts)
}

/// Every generated file under the manifests directory `dir`, as `(path, content)`: the CRD
/// files in `dir/crds/` and `dir/metallb.yaml` from `dir/parts/`.
pub fn generate(dir: &Path) -> Result<Vec<(PathBuf, String)>, AssembleError> {
    let crd_files = manifest::files()?;
    let parts = read_parts(&dir.join("parts"))?;
    let crds = manifest::documents()?;
    let mut out: Vec<(PathBuf, String)> = crd_files
        .into_iter()
        .map(|(name, text)| (dir.join("crds").join(name), text))
        .collect();
    out.push((dir.join(FILE), assemble(&parts, &crds)?));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> BTreeMap<String, String> {
        PARTS
            .iter()
            .filter_map(|p| match p {
                Part::File(n) => Some(((*n).to_owned(), format!("# {n}\nkind: X\n"))),
                Part::Crds => None,
            })
            .collect()
    }

    #[test]
    fn parts_come_in_order_with_the_crds_after_the_namespace() {
        let crds = vec!["kind: CustomResourceDefinition\n".to_owned()];
        let text = assemble(&parts(), &crds).unwrap_or_else(|e| panic!("{e}"));
        let sources: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# Source: "))
            .collect();
        assert_eq!(
            sources,
            [
                "manifests/parts/namespace.yaml",
                "lb-config's CRD types (manifests/crds/)",
                "manifests/parts/controller-rbac.yaml",
                "manifests/parts/speaker-rbac.yaml",
                "manifests/parts/controller.yaml",
                "manifests/parts/speaker.yaml",
            ]
        );
        assert!(text.starts_with("# ferrolb:"));
        assert!(text.contains(REGENERATE));
        assert_eq!(text.matches("\n---\n").count(), 6);
    }

    #[test]
    fn a_missing_or_unknown_part_is_an_error_naming_it() {
        let mut missing = parts();
        missing.remove("speaker-rbac.yaml");
        let err = assemble(&missing, &[]).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("manifests/parts/speaker-rbac.yaml is missing: the manifest is assembled from it")
        );
        let mut extra = parts();
        extra.insert("webhook.yaml".into(), "kind: Y\n".into());
        let err = assemble(&extra, &[]).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.starts_with("manifests/parts/webhook.yaml is not one of")),
            "{err:?}"
        );
    }

    #[test]
    fn a_leading_document_marker_of_a_part_is_not_doubled() {
        let mut p = parts();
        p.insert("namespace.yaml".into(), "---\nkind: Namespace".into());
        let text = assemble(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.contains("# Source: manifests/parts/namespace.yaml\nkind: Namespace\n---\n"),
            "{text}"
        );
    }
}
