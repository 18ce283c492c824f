//! The CEL rules that make the apiserver refuse an `IPAddressPool` address entry that is
//! neither a CIDR nor a same-family `A-B` range with `A <= B`, with the same reading of the
//! entry as MetalLB's `ParseCIDR` (an entry with a `-` is a range, spaces around either end
//! are allowed).
//!
//! CEL has no ordering of IP addresses, so the range check finds the length `l` of the
//! longest prefix both ends share (by binary lifting: does `start/l+128` contain the end? then
//! `l+32`, …) and then looks at the start's next bit: the start is not after the end if they
//! are equal or that bit is 0. Every string the rules handle has a bounded length (the entry's,
//! or a prefix suffix taken from a literal list), because the apiserver estimates the cost of
//! a rule from those bounds before it accepts the CRD, and refuses rules built on lists of
//! unknown size such as `split()`'s.

use schemars::{Schema, SchemaGenerator, json_schema};

/// The longest entry accepted: two fully written IPv6 addresses and a dash, with room for
/// spaces. Bounding the length bounds the cost of the rules, which the apiserver estimates
/// before it accepts the CRD.
pub const MAX_ENTRY_LENGTH: u64 = 128;

/// The most entries one pool may list; bounds the rules' total cost as [`MAX_ENTRY_LENGTH`]
/// does.
pub const MAX_ENTRIES: u64 = 1024;

/// The start of a range entry, trimmed as MetalLB trims it.
const START: &str = "self.find('^[^-]*').trim()";
/// The end of a range entry.
const END: &str = "self.find('[^-]*$').trim()";

/// `['/0', '/1', …, '/128']`: prefix suffixes of known length (a `string(int)` would have an
/// unknown one).
fn prefix_suffixes() -> String {
    let list: Vec<String> = (0..=128).map(|l| format!("'/{l}'")).collect();
    format!("[{}]", list.join(","))
}

/// The start of a well-formed, same-family range is not after its end.
fn ordered() -> String {
    let width = format!("(ip({START}).family() == 4 ? 32 : 128)");
    let p = prefix_suffixes();
    let mut shared = "0".to_string();
    for step in [128, 64, 32, 16, 8, 4, 2, 1] {
        shared = format!(
            "[{shared}].map(a, a + {step} <= {width} && cidr({START} + {p}[a + {step}])\
             .containsIP({END}) ? a + {step} : a)[0]"
        );
    }
    format!(
        "[{shared}].all(l, l == {width} || cidr({START} + {p}[l + 1]).masked().ip() == \
         cidr({START} + {p}[l]).masked().ip())"
    )
}

/// The rules for one entry, as `(rule, message)`; each passes when an earlier one already
/// failed, so a broken entry gets exactly one message.
pub fn rules() -> Vec<(String, &'static str)> {
    let is_range = "self.contains('-')";
    let well_formed = format!("self.matches('^[^-]*-[^-]*$') && isIP({START}) && isIP({END})");
    let same_family = format!("ip({START}).family() == ip({END}).family()");
    vec![
        (
            format!("{is_range} || isCIDR(self)"),
            "must be a CIDR such as 192.168.10.0/24 or a range such as \
             192.168.10.1-192.168.10.9",
        ),
        (
            format!("!{is_range} || ({well_formed})"),
            "a range must be two IP addresses joined by '-', such as \
             192.168.10.1-192.168.10.9",
        ),
        (
            format!("!({well_formed}) || {same_family}"),
            "both ends of a range must be of the same IP family",
        ),
        (
            format!("!({well_formed}) || !({same_family}) || {}", ordered()),
            "the start of a range must not be after its end",
        ),
    ]
}

/// The schema of `spec.addresses`: a list of strings, each checked by [`rules`].
pub fn addresses_schema(_: &mut SchemaGenerator) -> Schema {
    let validations: Vec<serde_json::Value> = rules()
        .into_iter()
        .map(|(rule, message)| serde_json::json!({"rule": rule, "message": message}))
        .collect();
    json_schema!({
        "description": "A list of IP address ranges over which MetalLB has authority. You can \
            list multiple ranges in a single pool, they will all share the same settings. Each \
            range can be either a CIDR prefix, or an explicit start-end range of IPs.",
        "type": "array",
        "maxItems": MAX_ENTRIES,
        "items": {
            "type": "string",
            "maxLength": MAX_ENTRY_LENGTH,
            "x-kubernetes-validations": validations,
        },
    })
}
