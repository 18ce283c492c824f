//! Community aliases (the `Community` resources, or the legacy `bgp-communities`), and
//! resolving an advertisement's communities through them.

use std::collections::BTreeMap;

use crate::community_value::{self, NotACommunity};
use crate::crd::community::Community as CommunityResource;
use crate::error::{ConfigError, Problem};
use crate::inputs::Sourced;
use crate::model::Community;
use crate::source::{FieldPath, Report, Source};

/// An alias's value and where it is defined.
pub(super) struct Alias<'a> {
    value: Community,
    source: &'a Source,
    path: FieldPath,
}

/// Every alias by name, across all Community objects (names are unique across them, as
/// MetalLB requires); problems go to `errors`.
pub(super) fn aliases<'a>(
    list: &'a [Sourced<CommunityResource>],
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, Alias<'a>> {
    let mut out: BTreeMap<String, Alias<'a>> = BTreeMap::new();
    for c in list {
        let mut report = Report::new(&c.source, errors);
        let base = FieldPath::spec().field("communities");
        for (i, alias) in c.object.spec.communities.iter().enumerate() {
            let path = base.index(i);
            let value = match community_value::parse(&alias.value) {
                Ok(v) => v,
                Err(e) => {
                    report.error(&path.field("value"), invalid(&alias.value, e));
                    continue;
                }
            };
            if let Some(first) = out.get(&alias.name) {
                report.error(
                    &path.field("name"),
                    Problem::Duplicate {
                        value: alias.name.clone(),
                        first: first.source.describe(&first.path.field("name")),
                    },
                );
                continue;
            }
            out.insert(
                alias.name.clone(),
                Alias {
                    value,
                    source: &c.source,
                    path,
                },
            );
        }
    }
    out
}

/// `text` as an alias, else as a community value (MetalLB looks the alias up first).
pub(super) fn resolve(
    text: &str,
    aliases: &BTreeMap<String, Alias<'_>>,
) -> Result<Community, Problem> {
    if let Some(alias) = aliases.get(text) {
        return Ok(alias.value);
    }
    match community_value::parse(text) {
        Ok(v) => Ok(v),
        Err(NotACommunity::Format) => Err(Problem::UnknownCommunityAlias(text.to_string())),
        Err(e) => Err(invalid(text, e)),
    }
}

fn invalid(text: &str, e: NotACommunity) -> Problem {
    Problem::InvalidCommunity {
        value: text.to_string(),
        reason: match e {
            NotACommunity::Format => "expected AS:VALUE or large:GLOBAL:LOCAL1:LOCAL2".into(),
            NotACommunity::Value(reason) => reason,
        },
    }
}
