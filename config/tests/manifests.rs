//! `manifests/crds/` is what `crdgen` generates from the types now: a change to a CRD type
//! without regenerating the files fails here, naming the command that refreshes them.

use std::path::Path;

use lb_config::crd::manifest;

#[test]
fn committed_crd_manifests_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/crds");
    let files = match manifest::files() {
        Ok(files) => files,
        Err(e) => panic!("{e}"),
    };
    let mut stale = Vec::new();
    for (name, want) in &files {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(have) if have == *want => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    let expected: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let extra = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") && !expected.contains(&n.as_str()));
    stale.extend(extra.map(|n| format!("{n} is not generated any more")));
    assert!(
        stale.is_empty(),
        "manifests/crds is stale ({}); run `{}` from the repository root",
        stale.join("; "),
        manifest::REGENERATE
    );
}

#[test]
fn every_manifest_is_one_crd_of_group_metallb_io() {
    let files = manifest::files().unwrap_or_else(|e| panic!("{e}"));
    let crds = lb_config::crd::definitions();
    assert_eq!(files.len(), crds.len() + 1);
    for crd in &crds {
        assert_eq!(crd.spec.group, "metallb.io");
        assert_eq!(crd.spec.scope, "Namespaced");
    }
    let names: Vec<&str> = crds.iter().map(|c| c.spec.names.kind.as_str()).collect();
    assert_eq!(
        names,
        [
            "IPAddressPool",
            "BGPPeer",
            "BFDProfile",
            "BGPAdvertisement",
            "L2Advertisement",
            "Community",
            "ServiceBGPStatus",
            "ConfigurationState"
        ]
    );
    let peer = &crds[1];
    let versions: Vec<(&str, bool, bool)> = peer
        .spec
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.served, v.storage))
        .collect();
    assert_eq!(
        versions,
        [("v1beta1", true, false), ("v1beta2", true, true)]
    );
    assert_eq!(
        peer.spec.conversion.as_ref().map(|c| c.strategy.as_str()),
        Some("None")
    );
}

/// The repository's `manifests/` directory.
fn manifests_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests")
}

#[test]
fn committed_install_manifest_is_assembled_from_the_parts_and_the_types() {
    let dir = manifests_dir();
    let files = lb_config::install::generate(&dir).unwrap_or_else(|e| panic!("{e}"));
    let stale: Vec<String> = files
        .iter()
        .filter(|(path, want)| std::fs::read_to_string(path).ok().as_ref() != Some(want))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "{} stale; run `{}` from the repository root",
        stale.join(", "),
        lb_config::install::REGENERATE
    );
}

/// The objects of a multi-document YAML file, by kind.
fn objects(text: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(text)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn typed<T: serde::de::DeserializeOwned>(objects: &[serde_json::Value], kind: &str) -> Vec<T> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| serde_json::from_value(o.clone()).unwrap_or_else(|e| panic!("{kind}: {e}")))
        .collect()
}

#[test]
fn example_crs_configure_what_the_tutorials_configmap_does() {
    let dir = manifests_dir();
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let configmap = objects(&read("example-config.yaml"));
    assert_eq!(configmap.len(), 1);
    assert_eq!(configmap[0]["metadata"]["namespace"], "metallb-system");
    let legacy = lb_config::Resources {
        legacy_config: configmap[0]["data"]["config"].as_str().map(str::to_owned),
        ..lb_config::Resources::default()
    };
    let crs = objects(&read("example-crs.yaml"));
    assert!(
        crs.iter()
            .all(|o| o["metadata"]["namespace"] == "metallb-system"),
        "every CR in metallb-system"
    );
    let resources = lb_config::Resources {
        pools: typed(&crs, "IPAddressPool"),
        peers: typed(&crs, "BGPPeer"),
        bgp_advertisements: typed(&crs, "BGPAdvertisement"),
        ..lb_config::Resources::default()
    };
    assert_eq!(
        resources.pools.len() + resources.peers.len() + resources.bgp_advertisements.len(),
        crs.len(),
        "every object of example-crs.yaml is read"
    );
    let from_legacy = lb_config::parse(&legacy).unwrap_or_else(|e| panic!("{e}"));
    let from_crs = lb_config::parse(&resources).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_crs.warnings, vec![]);
    assert_eq!(from_legacy.config, from_crs.config);
}
