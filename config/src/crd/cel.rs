//! Building blocks for the CEL validation rules (`x-kubernetes-validations`) of the generated
//! schemas.

use serde_json::{Value, json};

/// One rule with the message the apiserver returns when it fails.
pub(crate) fn rule(rule: impl Into<String>, message: &str) -> Value {
    json!({"rule": rule.into(), "message": message})
}

/// One rule on an object, reported at one of its fields (`fieldPath`, relative to the object),
/// so the apiserver's message names the field that is wrong rather than the whole object.
pub(crate) fn rule_at(rule: impl Into<String>, message: &str, field: &str) -> Value {
    json!({"rule": rule.into(), "message": message, "fieldPath": field})
}

/// Go's duration syntax (`time.ParseDuration`), the only one a `metav1.Duration` field
/// accepts: `0`, or numbers with units such as `90s`, `1m30s`, `1.5h`, `300ms`.
pub(crate) const DURATION_PATTERN: &str =
    "^[-+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

/// The longest duration string accepted; bounds the cost of the rules on it.
pub(crate) const MAX_DURATION_LENGTH: u64 = 32;

/// `expr` (a CEL string) is a Go duration.
pub(crate) fn is_duration(expr: &str) -> String {
    format!("{expr}.matches('{DURATION_PATTERN}')")
}

/// The rules that make a field a Go duration, then check `check` (a CEL condition on `self`)
/// when it is one.
pub(crate) fn duration_rules(field: &str, check: Option<(&str, &str)>) -> Value {
    let format_message = format!("{field} must be a duration such as 90s or 1m30s");
    let mut rules = vec![rule(is_duration("self"), &format_message)];
    if let Some((condition, message)) = check {
        rules.push(rule(
            format!("!{} || ({condition})", is_duration("self")),
            message,
        ));
    }
    Value::Array(rules)
}
