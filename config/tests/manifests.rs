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
