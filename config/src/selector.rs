//! Kubernetes label selectors as plain data: `matchLabels` plus `matchExpressions`
//! (`In`, `NotIn`, `Exists`, `DoesNotExist`), evaluated against a label map.
//!
//! MetalLB resolves its selectors (nodes, namespaces, services, pools) with apimachinery's
//! `labels.Selector`; this is the same semantics without a client, so the allocator and the
//! speaker's announcer stay pure functions over plain data.

use std::collections::BTreeMap;

/// One `matchExpressions` requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Requirement {
    /// `key In (values)`: the label is present and its value is one of `values`.
    In(String, Vec<String>),
    /// `key NotIn (values)`: the label is absent, or its value is none of `values`.
    NotIn(String, Vec<String>),
    /// `key Exists`: the label is present, whatever its value.
    Exists(String),
    /// `key DoesNotExist`: the label is absent.
    DoesNotExist(String),
}

impl Requirement {
    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::DoesNotExist(key) => !labels.contains_key(key),
        }
    }
}

/// A validated label selector. The empty selector matches everything, as in Kubernetes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    /// `matchLabels`: every key must be present with exactly this value.
    pub match_labels: BTreeMap<String, String>,
    /// `matchExpressions`: every requirement must hold.
    pub match_expressions: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Whether this selector has no terms (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether `labels` satisfy every term of this selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

/// Whether any of `selectors` matches `labels`; an empty list matches everything.
///
/// This is how MetalLB reads lists of selectors (a BGPPeer's `nodeSelectors`, a pool's
/// `serviceSelectors`): the object is selected when one of them matches, and no list means
/// no restriction.
pub fn any_matches(selectors: &[Selector], labels: &BTreeMap<String, String>) -> bool {
    selectors.is_empty() || selectors.iter().any(|s| s.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(Selector::everything().matches(&labels(&[])));
        assert!(Selector::everything().matches(&labels(&[("a", "b")])));
        assert!(any_matches(&[], &labels(&[])));
    }

    #[test]
    fn requirements_follow_kubernetes_semantics() {
        let l = labels(&[("zone", "a"), ("role", "edge")]);
        let cases = [
            (
                Requirement::In("zone".into(), vec!["a".into(), "b".into()]),
                true,
            ),
            (Requirement::In("zone".into(), vec!["c".into()]), false),
            (Requirement::In("missing".into(), vec!["a".into()]), false),
            (Requirement::NotIn("zone".into(), vec!["c".into()]), true),
            (Requirement::NotIn("zone".into(), vec!["a".into()]), false),
            (Requirement::NotIn("missing".into(), vec!["a".into()]), true),
            (Requirement::Exists("role".into()), true),
            (Requirement::Exists("missing".into()), false),
            (Requirement::DoesNotExist("missing".into()), true),
            (Requirement::DoesNotExist("role".into()), false),
        ];
        for (req, want) in cases {
            assert_eq!(req.matches(&l), want, "{req:?}");
        }
    }

    #[test]
    fn match_labels_and_expressions_must_all_hold() {
        let s = Selector {
            match_labels: labels(&[("zone", "a")]),
            match_expressions: vec![Requirement::Exists("role".into())],
        };
        assert!(s.matches(&labels(&[("zone", "a"), ("role", "x")])));
        assert!(!s.matches(&labels(&[("zone", "a")])));
        assert!(!s.matches(&labels(&[("zone", "b"), ("role", "x")])));
        assert!(any_matches(
            &[
                Selector {
                    match_labels: labels(&[("zone", "b")]),
                    ..Default::default()
                },
                s.clone()
            ],
            &labels(&[("zone", "a"), ("role", "x")])
        ));
    }
}
