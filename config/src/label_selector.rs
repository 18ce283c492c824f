//! Kubernetes `LabelSelector`s read into [`Selector`]s, with apimachinery's checks (operator,
//! values, label key and value syntax) and MetalLB's (no repeated value, requirement or
//! selector), each problem reported at its field.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::error::Problem;
use crate::selector::{Requirement, Selector};
use crate::source::{FieldPath, Report};

/// Reads a list of selectors at `path` (`spec.nodeSelectors`); a selector with a problem is
/// left out of the result and its problems are reported.
pub(crate) fn convert_list(
    selectors: &[LabelSelector],
    path: &FieldPath,
    findings: &mut Report<'_>,
) -> Vec<Selector> {
    let mut out: Vec<(usize, Selector)> = Vec::new();
    for (i, s) in selectors.iter().enumerate() {
        let at = path.index(i);
        let Some(selector) = convert(s, &at, findings) else {
            continue;
        };
        if let Some((first, _)) = out.iter().find(|(_, other)| *other == selector) {
            let first = findings.render(&path.index(*first));
            findings.error(
                &at,
                Problem::Duplicate {
                    value: render(&selector),
                    first,
                },
            );
            continue;
        }
        out.push((i, selector));
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// Reads one selector at `path`; `None` (and `findings` added to) if it has a problem.
pub(crate) fn convert(
    s: &LabelSelector,
    path: &FieldPath,
    findings: &mut Report<'_>,
) -> Option<Selector> {
    let before = findings.count();
    let mut match_labels = BTreeMap::new();
    for (key, value) in s.match_labels.iter().flatten() {
        let at = path.field("matchLabels");
        check_key(key, &at, findings);
        check_value(value, &at, findings);
        match_labels.insert(key.clone(), value.clone());
    }
    let mut match_expressions: Vec<Requirement> = Vec::new();
    let exprs_path = path.field("matchExpressions");
    for (i, e) in s.match_expressions.iter().flatten().enumerate() {
        let at = exprs_path.index(i);
        if let Some(req) = requirement(e, &at, findings) {
            if match_expressions.contains(&req) {
                let first = match_expressions
                    .iter()
                    .position(|r| *r == req)
                    .unwrap_or(0);
                let first = findings.render(&exprs_path.index(first));
                findings.error(
                    &at,
                    Problem::Duplicate {
                        value: render_requirement(&req),
                        first,
                    },
                );
                continue;
            }
            match_expressions.push(req);
        }
    }
    (findings.count() == before).then_some(Selector {
        match_labels,
        match_expressions,
    })
}

/// One `matchExpressions` entry.
fn requirement(
    e: &LabelSelectorRequirement,
    path: &FieldPath,
    findings: &mut Report<'_>,
) -> Option<Requirement> {
    let before = findings.count();
    check_key(&e.key, &path.field("key"), findings);
    let values_path = path.field("values");
    let mut values: Vec<String> = e.values.clone().unwrap_or_default();
    for (i, v) in values.iter().enumerate() {
        check_value(v, &values_path.index(i), findings);
    }
    findings.no_repeats(&values, &values_path);
    values.sort();
    let key = e.key.clone();
    let needs_values = |findings: &mut Report<'_>| {
        if values.is_empty() {
            findings.error(
                &values_path,
                Problem::InvalidSelector(format!(
                    "operator {} needs at least one value",
                    e.operator
                )),
            );
        }
    };
    let req = match e.operator.as_str() {
        "In" => {
            needs_values(findings);
            Requirement::In(key, values)
        }
        "NotIn" => {
            needs_values(findings);
            Requirement::NotIn(key, values)
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                findings.error(
                    &values_path,
                    Problem::InvalidSelector(format!("operator {} takes no values", e.operator)),
                );
            }
            if e.operator == "Exists" {
                Requirement::Exists(key)
            } else {
                Requirement::DoesNotExist(key)
            }
        }
        other => {
            findings.error(
                &path.field("operator"),
                Problem::InvalidSelector(format!(
                    "{other:?} is not an operator (In, NotIn, Exists or DoesNotExist)"
                )),
            );
            return None;
        }
    };
    (findings.count() == before).then_some(req)
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// characters (alphanumerics, `-`, `_`, `.`, starting and ending with an alphanumeric).
fn check_key(key: &str, path: &FieldPath, findings: &mut Report<'_>) {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    });
    if !prefix_ok || name.is_empty() || !is_label_name(name) {
        findings.error(
            path,
            Problem::InvalidSelector(format!(
                "{key:?} is not a label key (an optional DNS subdomain and '/', then at most 63 \
                 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)"
            )),
        );
    }
}

/// A label value: empty, or like the name part of a key.
fn check_value(value: &str, path: &FieldPath, findings: &mut Report<'_>) {
    if !value.is_empty() && !is_label_name(value) {
        findings.error(
            path,
            Problem::InvalidSelector(format!(
                "{value:?} is not a label value (at most 63 alphanumerics, '-', '_' or '.', \
                 starting and ending with an alphanumeric)"
            )),
        );
    }
}

fn is_label_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    s.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether one label set could match a selector of `a` and a selector of `b` (an empty list
/// matches everything): false only when every pair provably conflicts, such as `zone=a`
/// against `zone=b`, or `Exists(k)` against `DoesNotExist(k)`.
///
/// MetalLB decides whether two advertisements share a node by resolving their selectors
/// against the cluster's nodes; `Config` keeps selectors unresolved, so this is the
/// conservative answer that holds whatever the nodes' labels are.
pub(crate) fn lists_may_overlap(a: &[Selector], b: &[Selector]) -> bool {
    let everything = [Selector::everything()];
    let a = if a.is_empty() { &everything[..] } else { a };
    let b = if b.is_empty() { &everything[..] } else { b };
    a.iter().any(|x| b.iter().any(|y| may_overlap(x, y)))
}

/// What all the requirements on one key demand together.
#[derive(Default)]
struct KeyConstraint {
    /// The value must be one of these (`None`: any value).
    allowed: Option<BTreeSet<String>>,
    /// The value must be none of these.
    excluded: BTreeSet<String>,
    /// The label must be present.
    present: bool,
    /// The label must be absent.
    absent: bool,
}

impl KeyConstraint {
    fn allow(&mut self, values: &[String]) {
        let values: BTreeSet<String> = values.iter().cloned().collect();
        self.present = true;
        self.allowed = Some(match self.allowed.take() {
            Some(before) => before.intersection(&values).cloned().collect(),
            None => values,
        });
    }

    fn satisfiable(&self) -> bool {
        if self.present && self.absent {
            return false;
        }
        match &self.allowed {
            Some(allowed) => allowed.iter().any(|v| !self.excluded.contains(v)),
            None => true,
        }
    }
}

/// Whether one label set could match both `x` and `y`.
fn may_overlap(x: &Selector, y: &Selector) -> bool {
    let mut keys: BTreeMap<&str, KeyConstraint> = BTreeMap::new();
    for s in [x, y] {
        for (k, v) in &s.match_labels {
            keys.entry(k).or_default().allow(std::slice::from_ref(v));
        }
        for r in &s.match_expressions {
            match r {
                Requirement::In(k, values) => keys.entry(k).or_default().allow(values),
                Requirement::NotIn(k, values) => keys
                    .entry(k)
                    .or_default()
                    .excluded
                    .extend(values.iter().cloned()),
                Requirement::Exists(k) => keys.entry(k).or_default().present = true,
                Requirement::DoesNotExist(k) => keys.entry(k).or_default().absent = true,
            }
        }
    }
    keys.values().all(KeyConstraint::satisfiable)
}

/// A selector in Kubernetes' text form (`zone=a,role in (edge,core),!legacy`).
pub(crate) fn render(s: &Selector) -> String {
    let labels = s.match_labels.iter().map(|(k, v)| format!("{k}={v}"));
    let exprs = s.match_expressions.iter().map(render_requirement);
    let all: Vec<String> = labels.chain(exprs).collect();
    if all.is_empty() {
        "(everything)".into()
    } else {
        all.join(",")
    }
}

fn render_requirement(r: &Requirement) -> String {
    match r {
        Requirement::In(k, v) => format!("{k} in ({})", v.join(",")),
        Requirement::NotIn(k, v) => format!("{k} notin ({})", v.join(",")),
        Requirement::Exists(k) => k.clone(),
        Requirement::DoesNotExist(k) => format!("!{k}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn selector(json: serde_json::Value) -> LabelSelector {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn messages(list: &[LabelSelector]) -> (Vec<Selector>, Vec<String>) {
        let source = Source::resource("BGPPeer", "p");
        let mut errors = Vec::new();
        let path = FieldPath::spec().field("nodeSelectors");
        let out = convert_list(list, &path, &mut Report::new(&source, &mut errors));
        (out, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn valid_selectors_convert_with_sorted_values() {
        let (out, errors) = messages(&[selector(serde_json::json!({
            "matchLabels": {"kubernetes.io/hostname": "node-1"},
            "matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["b", "a"]},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }))]);
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(
            out,
            vec![Selector {
                match_labels: [("kubernetes.io/hostname".to_string(), "node-1".to_string())].into(),
                match_expressions: vec![
                    Requirement::In("zone".into(), vec!["a".into(), "b".into()]),
                    Requirement::DoesNotExist("legacy".into()),
                ],
            }]
        );
        assert_eq!(
            render(&out[0]),
            "kubernetes.io/hostname=node-1,zone in (a,b),!legacy"
        );
    }

    #[test]
    fn each_problem_is_reported_at_its_field() {
        let cases: &[(serde_json::Value, &str)] = &[
            (
                serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "Equals", "values": ["a"]}]}),
                "BGPPeer \"p\": spec.nodeSelectors[0].matchExpressions[0].operator: invalid label selector: \"Equals\" is not an operator (In, NotIn, Exists or DoesNotExist)",
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "In"}]}),
                "BGPPeer \"p\": spec.nodeSelectors[0].matchExpressions[0].values: invalid label selector: operator In needs at least one value",
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "Exists", "values": ["a"]}]}),
                "BGPPeer \"p\": spec.nodeSelectors[0].matchExpressions[0].values: invalid label selector: operator Exists takes no values",
            ),
            (
                serde_json::json!({"matchLabels": {"-zone": "a"}}),
                "BGPPeer \"p\": spec.nodeSelectors[0].matchLabels: invalid label selector: \"-zone\" is not a label key (an optional DNS subdomain and '/', then at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)",
            ),
            (
                serde_json::json!({"matchLabels": {"zone": "a b"}}),
                "BGPPeer \"p\": spec.nodeSelectors[0].matchLabels: invalid label selector: \"a b\" is not a label value (at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)",
            ),
            (
                serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "a"]}]}),
                "BGPPeer \"p\": spec.nodeSelectors[0].matchExpressions[0].values[1]: \"a\" is already defined at spec.nodeSelectors[0].matchExpressions[0].values[0]",
            ),
        ];
        for (json, want) in cases {
            let (out, errors) = messages(&[selector(json.clone())]);
            assert_eq!(errors, vec![want.to_string()], "{json}");
            assert!(out.is_empty());
        }
    }

    #[test]
    fn selectors_overlap_unless_they_provably_conflict() {
        let s = |json: serde_json::Value| {
            let (out, errors) = messages(&[selector(json)]);
            assert_eq!(errors, Vec::<String>::new());
            out
        };
        let zone_a = s(serde_json::json!({"matchLabels": {"zone": "a"}}));
        let zone_b = s(serde_json::json!({"matchLabels": {"zone": "b"}}));
        let zone_in_ab = s(
            serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}),
        );
        let zone_not_a = s(
            serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}),
        );
        let no_zone = s(
            serde_json::json!({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}),
        );
        let role = s(serde_json::json!({"matchLabels": {"role": "edge"}}));
        let cases = [
            (&zone_a, &zone_b, false),
            (&zone_a, &zone_a, true),
            (&zone_a, &zone_in_ab, true),
            (&zone_a, &zone_not_a, false),
            (&zone_b, &zone_not_a, true),
            (&zone_a, &no_zone, false),
            (&zone_not_a, &no_zone, true),
            (&zone_a, &role, true),
        ];
        for (a, b, want) in cases {
            assert_eq!(lists_may_overlap(a, b), want, "{a:?} {b:?}");
            assert_eq!(lists_may_overlap(b, a), want, "{b:?} {a:?}");
        }
        assert!(lists_may_overlap(&[], &zone_a));
        assert!(lists_may_overlap(&[], &[]));
        let both: Vec<Selector> = zone_b.iter().chain(&zone_a).cloned().collect();
        assert!(lists_may_overlap(&both, &zone_a));
    }

    #[test]
    fn a_repeated_selector_is_reported_at_the_second() {
        let s = selector(serde_json::json!({"matchLabels": {"zone": "a"}}));
        let (out, errors) = messages(&[s.clone(), s]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            errors,
            vec![
                "BGPPeer \"p\": spec.nodeSelectors[1]: \"zone=a\" is already defined at spec.nodeSelectors[0]"
            ]
        );
    }
}
