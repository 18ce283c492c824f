//! The CEL rules that make the apiserver refuse an `IPAddressPool` address entry that is
//! neither a CIDR nor a same-family `A-B` range with `A <= B`, with the same reading of the
//! entry as MetalLB's `ParseCIDR` (an entry with a `-` is a range, spaces around either end
//! are allowed).
//!
//! CEL has no ordering of IP addresses, so the range check compares a fixed-width text key
//! instead: an IPv4 address as its four octets padded to three digits, an IPv6 address as its
//! eight groups padded to four hex digits (after expanding `::` in its canonical form). Keys
//! of the same family have the same length, so comparing them as strings compares the
//! addresses.

use schemars::{Schema, SchemaGenerator, json_schema};

/// The longest entry accepted: two fully written IPv6 addresses and a dash, with room for
/// spaces. Bounding the length bounds the cost of the rules, which the apiserver estimates
/// before it accepts the CRD.
pub const MAX_ENTRY_LENGTH: u64 = 128;

/// The most entries one pool may list; bounds the rules' total cost as [`MAX_ENTRY_LENGTH`]
/// does.
pub const MAX_ENTRIES: u64 = 1024;

/// The start of a range entry, trimmed as MetalLB trims it.
const START: &str = "self.split('-')[0].trim()";
/// The end of a range entry.
const END: &str = "self.split('-')[1].trim()";

/// The address `ip` (a CEL expression of a valid address) as its fixed-width key.
fn key(ip: &str) -> String {
    let v4 = format!("{ip}.split('.').map(o, '00'.substring(0, 3 - o.size()) + o).join('')");
    let v6 = format!(
        "[string(ip({ip}))].map(c, c.replace('::', ':' + '0:0:0:0:0:0:0:0:'.substring(0, \
         2 * (8 - c.split(':').filter(g, g != '').size()))).split(':').filter(g, g != '')\
         .map(g, '000'.substring(0, 4 - g.size()) + g).join(''))[0]"
    );
    format!("(ip({ip}).family() == 4 ? {v4} : {v6})")
}

/// The rules for one entry, as `(rule, message)`; each passes when an earlier one already
/// failed, so a broken entry gets exactly one message.
pub fn rules() -> Vec<(String, &'static str)> {
    let is_range = "self.contains('-')";
    let well_formed = format!("self.split('-').size() == 2 && isIP({START}) && isIP({END})");
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
            format!(
                "!{is_range} || !({well_formed}) || ip({START}).family() == ip({END}).family()"
            ),
            "both ends of a range must be of the same IP family",
        ),
        (
            format!(
                "!{is_range} || !({well_formed}) || ip({START}).family() != ip({END}).family() \
                 || {} <= {}",
                key(START),
                key(END)
            ),
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
