//! The CRD manifests under `manifests/crds/`, rendered from [`super::definitions`]: one file
//! per CRD, named as MetalLB names them (`metallb.io_ipaddresspools.yaml`), and `all.yaml`
//! with every CRD, for a single `kubectl apply -f`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// The command that regenerates the files, named in their header and in the staleness test.
pub const REGENERATE: &str = "cargo run -p lb-config --bin crdgen -- --write manifests/crds";

/// The aggregate file's name.
pub const ALL: &str = "all.yaml";

/// A CRD could not be rendered as YAML.
#[derive(Debug, thiserror::Error)]
#[error("rendering CRD {name} as YAML: {source}")]
pub struct RenderError {
    /// The CRD's name.
    pub name: String,
    /// The serializer's error.
    #[source]
    pub source: serde_saphyr::SerializeError,
}

/// `(file name, content)` of every manifest, the aggregate last.
pub fn files() -> Result<Vec<(String, String)>, RenderError> {
    let header =
        format!("# Generated from lb-config's CRD types by `{REGENERATE}`; do not edit.\n");
    let mut out = Vec::new();
    let mut all = header.clone();
    for (crd, body) in super::definitions().iter().zip(documents()?) {
        out.push((file_name(crd), format!("{header}---\n{body}")));
        all.push_str("---\n");
        all.push_str(&body);
    }
    out.push((ALL.to_string(), all));
    Ok(out)
}

/// Every CRD as one YAML document (no `---`, no header), in [`super::definitions`]' order:
/// what the installation manifest (`crate::install`) embeds.
pub fn documents() -> Result<Vec<String>, RenderError> {
    super::definitions().iter().map(render).collect()
}

/// MetalLB's file name for a CRD: `GROUP_PLURAL.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

fn render(crd: &CustomResourceDefinition) -> Result<String, RenderError> {
    serde_saphyr::to_string(crd).map_err(|source| RenderError {
        name: crd.metadata.name.clone().unwrap_or_default(),
        source,
    })
}
