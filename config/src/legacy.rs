//! The legacy configuration format of MetalLB before v0.13 (the tutorial's): YAML in the
//! `config` key of the ConfigMap `config`, with `peers`, `bgp-communities`, `address-pools`
//! and `bfd-profiles`.
//!
//! It is converted into custom resources as MetalLB's `configmaptocrs` converts it, so both
//! formats go through the same validation: peers are named `peer1`, `peer2`, … in order;
//! each BGP pool gets one `BGPAdvertisement` per `bgp-advertisements` entry (or one with the
//! defaults when it has none), named `bgpadvertisement1`, … across pools; each layer2 pool an
//! `L2Advertisement`; the aliases one `Community` named `communities`. Unlike
//! `configmaptocrs`, names are kept exactly as written (so a Service's `address-pool`
//! annotation still finds its pool), and a protocol other than `bgp` or `layer2` is an error,
//! as it was in the MetalLB versions that read this format. Every object remembers its YAML
//! path, so errors name `address-pools[0].addresses[1]`, not the converted object.
//!
//! Keys the format does not have are ignored, as MetalLB ignores them, and reported as
//! warnings (a misspelt `peer-adress` would otherwise vanish without a word).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube_core::ObjectMeta;
use serde::Deserialize;

use crate::crd::bfd_profile::{BFDProfile, BFDProfileSpec};
use crate::crd::bgp_advertisement::{BGPAdvertisement, BGPAdvertisementSpec};
use crate::crd::bgp_peer::{BGPPeer, BGPPeerSpec};
use crate::crd::community::{Community, CommunityAlias, CommunitySpec};
use crate::crd::ip_address_pool::{IPAddressPool, IPAddressPoolSpec};
use crate::crd::l2_advertisement::{L2Advertisement, L2AdvertisementSpec};
use crate::error::{ConfigError, Problem};
use crate::inputs::{Inputs, Sourced};
use crate::source::{FieldPath, Source};

/// The hold time configmaptocrs gives a peer without `hold-time`.
const DEFAULT_HOLD_TIME: &str = "90s";

/// The document: MetalLB's `configFile`.
#[derive(Debug, Default, Deserialize)]
struct File {
    peers: Option<Vec<Peer>>,
    #[serde(rename = "bgp-communities")]
    bgp_communities: Option<BTreeMap<String, String>>,
    #[serde(rename = "address-pools")]
    address_pools: Option<Vec<Pool>>,
    #[serde(rename = "bfd-profiles")]
    bfd_profiles: Option<Vec<Bfd>>,
}

#[derive(Debug, Deserialize)]
struct Peer {
    #[serde(rename = "my-asn")]
    my_asn: Option<u32>,
    #[serde(rename = "peer-asn")]
    peer_asn: Option<u32>,
    #[serde(rename = "peer-address")]
    peer_address: Option<String>,
    #[serde(rename = "source-address")]
    source_address: Option<String>,
    #[serde(rename = "peer-port")]
    peer_port: Option<u16>,
    #[serde(rename = "hold-time")]
    hold_time: Option<String>,
    #[serde(rename = "keepalive-time")]
    keepalive_time: Option<String>,
    #[serde(rename = "router-id")]
    router_id: Option<String>,
    #[serde(rename = "node-selectors")]
    node_selectors: Option<Vec<NodeSelector>>,
    password: Option<String>,
    #[serde(rename = "bfd-profile")]
    bfd_profile: Option<String>,
    #[serde(rename = "ebgp-multihop")]
    ebgp_multihop: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct NodeSelector {
    #[serde(rename = "match-labels")]
    match_labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "match-expressions")]
    match_expressions: Option<Vec<Expression>>,
}

/// Go's struct has no JSON tags here, so MetalLB matched the keys case-insensitively.
#[derive(Debug, Deserialize)]
struct Expression {
    #[serde(alias = "Key")]
    key: String,
    #[serde(alias = "Operator")]
    operator: String,
    #[serde(alias = "Values")]
    values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Pool {
    protocol: Option<String>,
    name: Option<String>,
    addresses: Option<Vec<String>>,
    #[serde(rename = "auto-assign")]
    auto_assign: Option<bool>,
    #[serde(rename = "avoid-buggy-ips")]
    avoid_buggy_ips: Option<bool>,
    #[serde(rename = "bgp-advertisements")]
    bgp_advertisements: Option<Vec<Advertisement>>,
}

#[derive(Debug, Deserialize)]
struct Advertisement {
    #[serde(rename = "aggregation-length")]
    aggregation_length: Option<i32>,
    #[serde(rename = "aggregation-length-v6")]
    aggregation_length_v6: Option<i32>,
    localpref: Option<u32>,
    communities: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Bfd {
    name: Option<String>,
    #[serde(rename = "receive-interval")]
    receive_interval: Option<u32>,
    #[serde(rename = "transmit-interval")]
    transmit_interval: Option<u32>,
    #[serde(rename = "detect-multiplier")]
    detect_multiplier: Option<u32>,
    #[serde(rename = "echo-interval")]
    echo_interval: Option<u32>,
    #[serde(rename = "echo-mode")]
    echo_mode: Option<bool>,
    #[serde(rename = "passive-mode")]
    passive_mode: Option<bool>,
    #[serde(rename = "minimum-ttl")]
    minimum_ttl: Option<u32>,
}

/// Reads the legacy `config` text into custom resources added to `inputs`; YAML errors and
/// the format's own errors go to `errors`, ignored keys to `warnings`.
pub(crate) fn convert(
    text: &str,
    inputs: &mut Inputs,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) {
    let Some(file) = read(text, errors, warnings) else {
        return;
    };
    if let Some(aliases) = file.bgp_communities {
        inputs.communities.push(communities(aliases));
    }
    for (i, p) in file.bfd_profiles.into_iter().flatten().enumerate() {
        let source = Source::legacy(format!("bfd-profiles[{i}]"));
        let Some(name) = p.name.filter(|n| !n.is_empty()) else {
            errors.push(source.error(&FieldPath::name(), Problem::Missing));
            continue;
        };
        let spec = BFDProfileSpec {
            receive_interval: p.receive_interval,
            transmit_interval: p.transmit_interval,
            detect_multiplier: p.detect_multiplier,
            echo_interval: p.echo_interval,
            echo_mode: p.echo_mode,
            passive_mode: p.passive_mode,
            minimum_ttl: p.minimum_ttl,
        };
        inputs.bfd_profiles.push(Sourced {
            source,
            object: BFDProfile {
                metadata: meta(&name),
                spec,
                status: None,
            },
        });
    }
    for (i, p) in file.peers.into_iter().flatten().enumerate() {
        let name = format!("peer{}", i + 1);
        inputs.peers.push(Sourced {
            source: Source::legacy(format!("peers[{i}]")),
            object: BGPPeer {
                metadata: meta(&name),
                spec: peer(p),
                status: None,
            },
        });
    }
    pools(file.address_pools.unwrap_or_default(), inputs, errors);
}

/// Parses the YAML, recording ignored keys as warnings.
fn read(
    text: &str,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Option<File> {
    if text.trim().is_empty() {
        return Some(File::default());
    }
    let mut ignored: Vec<String> = Vec::new();
    let mut error_path = String::new();
    let parsed = serde_saphyr::with_deserializer_from_str(text, |de| {
        let mut record = |path: serde_ignored::Path<'_>| ignored.push(yaml_path(&path));
        let de = serde_ignored::Deserializer::new(de, &mut record);
        serde_path_to_error::deserialize(de).map_err(|e| {
            error_path = e.path().to_string();
            e.into_inner()
        })
    });
    let whole = Source::legacy_text();
    match parsed {
        Ok(file) => {
            warnings.extend(ignored.into_iter().map(|path| ConfigError {
                object: whole.object.clone(),
                field: path,
                problem: Problem::UnknownField,
            }));
            Some(file)
        }
        Err(e) => {
            let location = e.location();
            let (line, column) = location
                .map(|l| (saturate(l.line()), saturate(l.column())))
                .unwrap_or((0, 0));
            // The parser's text ends with the location, which the message already leads with.
            let message = e.without_snippet().to_string();
            let suffix = format!(" at line {line}, column {column}");
            let message = message.strip_suffix(&suffix).unwrap_or(&message);
            // Advice for programs using the parser, not for the person editing the YAML.
            let message = message
                .strip_suffix(", set DuplicateKeyPolicy in Options if acceptable")
                .unwrap_or(message)
                .to_string();
            errors.push(ConfigError {
                object: whole.object,
                // serde_path_to_error writes the root as ".", and "?" for a key it cannot name.
                field: match error_path.trim_end_matches(".?") {
                    "." | "?" => String::new(),
                    path => path.to_string(),
                },
                problem: Problem::Yaml {
                    line,
                    column,
                    message,
                },
            });
            None
        }
    }
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A path as serde_ignored reports it, written as the other YAML paths (`peers[0].foo`).
fn yaml_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", yaml_path(parent)),
        Path::Map { parent, key } => {
            let parent = yaml_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => yaml_path(parent),
    }
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        ..ObjectMeta::default()
    }
}

/// The aliases, sorted by name as configmaptocrs sorts them, as one Community.
fn communities(aliases: BTreeMap<String, String>) -> Sourced<Community> {
    let names: Vec<String> = aliases.keys().cloned().collect();
    let communities = aliases
        .into_iter()
        .map(|(name, value)| CommunityAlias { name, value })
        .collect();
    Sourced {
        source: Source::legacy_communities(names),
        object: Community {
            metadata: meta("communities"),
            spec: CommunitySpec { communities },
            status: None,
        },
    }
}

fn peer(p: Peer) -> BGPPeerSpec {
    let hold_time = p
        .hold_time
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOLD_TIME.to_string());
    BGPPeerSpec {
        my_asn: p.my_asn.unwrap_or(0),
        peer_asn: p.peer_asn.unwrap_or(0),
        peer_address: p.peer_address.unwrap_or_default(),
        source_address: p.source_address.unwrap_or_default(),
        peer_port: p.peer_port.unwrap_or(0),
        hold_time: Some(hold_time),
        keepalive_time: p.keepalive_time.filter(|k| !k.is_empty()),
        router_id: p.router_id.unwrap_or_default(),
        node_selectors: p
            .node_selectors
            .into_iter()
            .flatten()
            .map(label_selector)
            .collect(),
        password: p.password.unwrap_or_default(),
        bfd_profile: p.bfd_profile.unwrap_or_default(),
        ebgp_multi_hop: p.ebgp_multihop.unwrap_or(false),
        ..BGPPeerSpec::default()
    }
}

fn label_selector(s: NodeSelector) -> LabelSelector {
    LabelSelector {
        match_labels: s.match_labels,
        match_expressions: s.match_expressions.map(|list| {
            list.into_iter()
                .map(|e| LabelSelectorRequirement {
                    key: e.key,
                    operator: e.operator,
                    values: e.values,
                })
                .collect()
        }),
    }
}

/// The pools and their advertisements.
fn pools(list: Vec<Pool>, inputs: &mut Inputs, errors: &mut Vec<ConfigError>) {
    let mut bgp_index = 1;
    let mut l2_index = 1;
    for (i, p) in list.into_iter().enumerate() {
        let prefix = format!("address-pools[{i}]");
        let source = Source::legacy(prefix.clone());
        let protocol_path = FieldPath::spec().field("protocol");
        let name = match p.name.filter(|n| !n.is_empty()) {
            Some(name) => name,
            None => {
                errors.push(source.error(&FieldPath::name(), Problem::Missing));
                continue;
            }
        };
        let advertisements = p.bgp_advertisements.unwrap_or_default();
        match p.protocol.as_deref() {
            None | Some("") => {
                errors.push(source.error(&protocol_path, Problem::Missing));
            }
            Some("bgp") => {
                let specs: Vec<(Source, BGPAdvertisementSpec)> = if advertisements.is_empty() {
                    vec![(source.clone(), BGPAdvertisementSpec::default())]
                } else {
                    advertisements
                        .into_iter()
                        .enumerate()
                        .map(|(j, a)| {
                            let at = Source::legacy(format!("{prefix}.bgp-advertisements[{j}]"));
                            (at, advertisement(a))
                        })
                        .collect()
                };
                for (at, mut spec) in specs {
                    spec.ip_address_pools = vec![name.clone()];
                    inputs.bgp_advertisements.push(Sourced {
                        source: at,
                        object: BGPAdvertisement {
                            metadata: meta(&format!("bgpadvertisement{bgp_index}")),
                            spec,
                            status: None,
                        },
                    });
                    bgp_index += 1;
                }
            }
            Some("layer2") => {
                if !advertisements.is_empty() {
                    errors.push(source.error(
                        &FieldPath::spec().field("bgp-advertisements"),
                        Problem::BgpAdvertisementsForLayer2,
                    ));
                }
                inputs.l2_advertisements.push(Sourced {
                    source: source.clone(),
                    object: L2Advertisement {
                        metadata: meta(&format!("l2advertisement{l2_index}")),
                        spec: L2AdvertisementSpec {
                            ip_address_pools: vec![name.clone()],
                            ..L2AdvertisementSpec::default()
                        },
                        status: None,
                    },
                });
                l2_index += 1;
            }
            Some(other) => {
                errors.push(source.error(&protocol_path, Problem::UnknownProtocol(other.into())));
            }
        }
        inputs.pools.push(Sourced {
            source,
            object: IPAddressPool {
                metadata: meta(&name),
                spec: IPAddressPoolSpec {
                    addresses: p.addresses.unwrap_or_default(),
                    auto_assign: p.auto_assign,
                    avoid_buggy_ips: p.avoid_buggy_ips.unwrap_or(false),
                    service_allocation: None,
                },
                status: None,
            },
        });
    }
}

fn advertisement(a: Advertisement) -> BGPAdvertisementSpec {
    BGPAdvertisementSpec {
        aggregation_length: a.aggregation_length,
        aggregation_length_v6: a.aggregation_length_v6,
        local_pref: a.localpref.unwrap_or(0),
        communities: a.communities.unwrap_or_default(),
        ..BGPAdvertisementSpec::default()
    }
}
