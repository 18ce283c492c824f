//! Where an object came from, and how the paths of its fields are written in messages.
//!
//! Validation works on custom-resource shaped objects whatever their source (the legacy
//! ConfigMap is converted into them first, as MetalLB's `configmaptocrs` does), and names
//! fields with the custom resource's JSON names (`spec.holdTime`). A [`Source`] turns such a
//! path into what the user wrote: unchanged for a custom resource, the YAML path with the
//! legacy key names for the ConfigMap (`peers[0].hold-time`).

use crate::error::{ConfigError, ObjectRef, Problem};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A field, by its custom-resource JSON name.
    Field(&'static str),
    /// An index into a list.
    Index(usize),
}

/// A path from an object's root to one of its fields, in custom-resource names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// `spec`.
    pub(crate) fn spec() -> Self {
        FieldPath(vec![Segment::Field("spec")])
    }

    /// `metadata.name`.
    pub(crate) fn name() -> Self {
        FieldPath(vec![Segment::Field("metadata"), Segment::Field("name")])
    }

    /// This path, then the field `name`.
    pub(crate) fn field(&self, name: &'static str) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Field(name));
        p
    }

    /// This path, then the list index `i`.
    pub(crate) fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }
}

/// How an object's field paths are written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// A custom resource: paths as they are.
    Resource,
    /// An entry of the legacy ConfigMap at YAML path `prefix` (`address-pools[0]`); field
    /// names are translated to the legacy keys.
    Legacy { prefix: String },
    /// The legacy `bgp-communities` map, converted into one Community whose aliases are the
    /// map's entries in name order; `spec.communities[i]` is written `bgp-communities.NAME`.
    LegacyCommunities { names: Vec<String> },
}

/// The object a value came from, and how to name its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// The object errors are reported against.
    pub(crate) object: ObjectRef,
    origin: Origin,
}

/// The legacy ConfigMap's name and data key, as MetalLB's.
pub(crate) const LEGACY_CONFIGMAP: &str = "config";

impl Source {
    /// A custom resource of `kind` named `name`.
    pub(crate) fn resource(kind: &'static str, name: &str) -> Self {
        Source {
            object: ObjectRef {
                kind,
                name: name.to_string(),
            },
            origin: Origin::Resource,
        }
    }

    /// The legacy ConfigMap itself (its YAML as a whole).
    pub(crate) fn legacy_text() -> Self {
        Self::legacy(String::new())
    }

    /// The entry of the legacy ConfigMap at YAML path `prefix`.
    pub(crate) fn legacy(prefix: String) -> Self {
        Source {
            object: legacy_object(),
            origin: Origin::Legacy { prefix },
        }
    }

    /// The legacy `bgp-communities` map, with its alias names in the order of the Community
    /// it was converted into.
    pub(crate) fn legacy_communities(names: Vec<String>) -> Self {
        Source {
            object: legacy_object(),
            origin: Origin::LegacyCommunities { names },
        }
    }

    /// How the user wrote `path`.
    pub(crate) fn render(&self, path: &FieldPath) -> String {
        match &self.origin {
            Origin::Resource => join(path.0.iter().map(|s| match s {
                Segment::Field(f) => Part::Field(f),
                Segment::Index(i) => Part::Index(*i),
            })),
            Origin::Legacy { prefix } => {
                let rest = join(path.0.iter().skip(1).map(|s| match s {
                    Segment::Field(f) => Part::Field(legacy_key(f)),
                    Segment::Index(i) => Part::Index(*i),
                }));
                match (prefix.is_empty(), rest.is_empty()) {
                    (true, _) => rest,
                    (false, true) => prefix.clone(),
                    (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
                    (false, false) => format!("{prefix}.{rest}"),
                }
            }
            Origin::LegacyCommunities { names } => match path.0.get(2) {
                Some(Segment::Index(i)) => match names.get(*i) {
                    Some(name) => format!("bgp-communities.{name}"),
                    None => "bgp-communities".to_string(),
                },
                _ => "bgp-communities".to_string(),
            },
        }
    }

    /// An error in the field at `path`.
    pub(crate) fn error(&self, path: &FieldPath, problem: Problem) -> ConfigError {
        ConfigError {
            object: self.object.clone(),
            field: self.render(path),
            problem,
        }
    }

    /// The field at `path` of this object, for messages about another object
    /// (`IPAddressPool "a" spec.addresses[0]`).
    pub(crate) fn describe(&self, path: &FieldPath) -> String {
        format!("{} {}", self.object, self.render(path))
    }

    /// The object, for messages about another object: `IPAddressPool "a"`, or the legacy
    /// entry's path (`address-pools[0] of ConfigMap "config"`).
    pub(crate) fn describe_object(&self) -> String {
        match &self.origin {
            Origin::Resource => self.object.to_string(),
            Origin::Legacy { prefix } => format!("{prefix} of {}", self.object),
            Origin::LegacyCommunities { .. } => format!("bgp-communities of {}", self.object),
        }
    }
}

/// Collects the problems of one object, naming fields as its [`Source`] writes them.
pub(crate) struct Report<'a> {
    source: &'a Source,
    errors: &'a mut Vec<ConfigError>,
    start: usize,
}

impl<'a> Report<'a> {
    /// Problems of `source`'s object go to `errors`.
    pub(crate) fn new(source: &'a Source, errors: &'a mut Vec<ConfigError>) -> Self {
        let start = errors.len();
        Report {
            source,
            errors,
            start,
        }
    }

    /// Records a problem in the field at `path`.
    pub(crate) fn error(&mut self, path: &FieldPath, problem: Problem) {
        self.errors.push(self.source.error(path, problem));
    }

    /// How the user wrote `path` (for "already defined at …").
    pub(crate) fn render(&self, path: &FieldPath) -> String {
        self.source.render(path)
    }

    /// How many problems have been recorded so far (to tell whether a part was clean).
    pub(crate) fn count(&self) -> usize {
        self.errors.len()
    }

    /// Whether nothing was recorded through this report.
    pub(crate) fn clean(&self) -> bool {
        self.errors.len() == self.start
    }

    /// Records each string of `list` (at `path`) that repeats an earlier one, as MetalLB's
    /// `validateDuplicate` refuses them.
    pub(crate) fn no_repeats(&mut self, list: &[String], path: &FieldPath) {
        for (i, value) in list.iter().enumerate() {
            if let Some(first) = list[..i].iter().position(|v| v == value) {
                let first = self.render(&path.index(first));
                self.error(
                    &path.index(i),
                    Problem::Duplicate {
                        value: value.clone(),
                        first,
                    },
                );
            }
        }
    }
}

fn legacy_object() -> ObjectRef {
    ObjectRef {
        kind: "ConfigMap",
        name: LEGACY_CONFIGMAP.to_string(),
    }
}

enum Part<'a> {
    Field(&'a str),
    Index(usize),
}

fn join<'a>(parts: impl Iterator<Item = Part<'a>>) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Field(f) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(f);
            }
            Part::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The legacy ConfigMap's key for a custom-resource field name.
fn legacy_key(field: &'static str) -> &'static str {
    match field {
        "myASN" => "my-asn",
        "peerASN" => "peer-asn",
        "peerAddress" => "peer-address",
        "peerPort" => "peer-port",
        "sourceAddress" => "source-address",
        "holdTime" => "hold-time",
        "keepaliveTime" => "keepalive-time",
        "routerID" => "router-id",
        "nodeSelectors" => "node-selectors",
        "matchLabels" => "match-labels",
        "matchExpressions" => "match-expressions",
        "bfdProfile" => "bfd-profile",
        "ebgpMultiHop" => "ebgp-multihop",
        "autoAssign" => "auto-assign",
        "avoidBuggyIPs" => "avoid-buggy-ips",
        "aggregationLength" => "aggregation-length",
        "aggregationLengthV6" => "aggregation-length-v6",
        "localPref" => "localpref",
        "receiveInterval" => "receive-interval",
        "transmitInterval" => "transmit-interval",
        "detectMultiplier" => "detect-multiplier",
        "echoInterval" => "echo-interval",
        "echoMode" => "echo-mode",
        "passiveMode" => "passive-mode",
        "minimumTtl" => "minimum-ttl",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths_are_written_as_they_are() {
        let s = Source::resource("BGPPeer", "p");
        let path = FieldPath::spec()
            .field("nodeSelectors")
            .index(1)
            .field("matchLabels");
        assert_eq!(s.render(&path), "spec.nodeSelectors[1].matchLabels");
        assert_eq!(s.render(&FieldPath::name()), "metadata.name");
        assert_eq!(
            s.describe(&FieldPath::spec().field("holdTime")),
            "BGPPeer \"p\" spec.holdTime"
        );
    }

    #[test]
    fn legacy_paths_use_the_yaml_keys_under_the_entry() {
        let s = Source::legacy("peers[0]".into());
        let path = FieldPath::spec()
            .field("nodeSelectors")
            .index(1)
            .field("matchLabels");
        assert_eq!(s.render(&path), "peers[0].node-selectors[1].match-labels");
        assert_eq!(s.render(&FieldPath::name()), "peers[0].name");
        assert_eq!(s.render(&FieldPath::spec()), "peers[0]");
        let pool = Source::legacy("address-pools[2]".into());
        assert_eq!(
            pool.render(&FieldPath::spec().field("addresses").index(1)),
            "address-pools[2].addresses[1]"
        );
        assert_eq!(pool.object.to_string(), "ConfigMap \"config\"");
        assert_eq!(
            pool.describe_object(),
            "address-pools[2] of ConfigMap \"config\""
        );
    }

    #[test]
    fn legacy_community_aliases_are_written_by_name() {
        let s = Source::legacy_communities(vec!["a".into(), "no-export".into()]);
        let path = FieldPath::spec()
            .field("communities")
            .index(1)
            .field("value");
        assert_eq!(s.render(&path), "bgp-communities.no-export");
    }
}
