//! From the objects of a configuration to one validated [`Config`], as MetalLB's
//! `internal/config.For` builds its `Config` — but going on after a problem, so every error
//! is reported at once, each at its object and field.

mod advertisements;
mod bfd;
mod communities;
mod peers;
mod pools;

use std::collections::BTreeMap;

use crate::error::{ConfigError, ConfigErrors, Problem};
use crate::inputs::{Inputs, Sourced, name_of};
use crate::model::Config;
use crate::source::{FieldPath, Report, Source};
use crate::{Parsed, Resources, legacy};

/// Parses and validates everything in `resources`.
pub(crate) fn parse(resources: &Resources) -> Result<Parsed, ConfigErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut inputs = Inputs::default();
    if let Some(text) = &resources.legacy_config {
        legacy::convert(text, &mut inputs, &mut errors, &mut warnings);
    }
    inputs.add_resources(resources);

    let bfd_profiles = bfd::profiles(&inputs.bfd_profiles, &mut errors);
    let bfd_names = inputs
        .bfd_profiles
        .iter()
        .map(|p| name_of(&p.object.metadata))
        .collect();
    let peers = peers::peers(&inputs.peers, &bfd_names, &mut errors);
    let aliases = communities::aliases(&inputs.communities, &mut errors);
    let mut pools = pools::pools(&inputs.pools, &mut errors);
    advertisements::attach_bgp(
        &inputs.bgp_advertisements,
        &mut pools,
        &advertisements::Context {
            aliases: &aliases,
            peers: &peers,
            bfd_profiles: &bfd_profiles,
        },
        &mut errors,
        &mut warnings,
    );
    advertisements::attach_l2(
        &inputs.l2_advertisements,
        &mut pools,
        &mut errors,
        &mut warnings,
    );

    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let config = Config {
        pools: pools
            .into_iter()
            .map(|p| (p.pool.name.clone(), p.pool))
            .collect(),
        peers,
        bfd_profiles,
    };
    Ok(Parsed { config, warnings })
}

/// Names of one kind seen so far, to report the second object of a name.
struct Names<'a> {
    first: BTreeMap<&'a str, &'a Source>,
}

impl<'a> Names<'a> {
    /// The object's name if it is usable: present and not taken by an earlier object
    /// (otherwise the problem is recorded).
    fn claim<T: kube_core::Resource>(
        &mut self,
        o: &'a Sourced<T>,
        errors: &mut Vec<ConfigError>,
    ) -> Option<&'a str> {
        let name = name_of(o.object.meta());
        let path = FieldPath::name();
        if name.is_empty() {
            errors.push(o.source.error(&path, Problem::Missing));
            return None;
        }
        if let Some(first) = self.first.get(name) {
            errors.push(o.source.error(
                &path,
                Problem::Duplicate {
                    value: name.to_string(),
                    first: first.describe(&path),
                },
            ));
            return None;
        }
        self.first.insert(name, &o.source);
        Some(name)
    }
}

/// Runs `check` on each object of one kind whose name is usable (present, not taken by an
/// earlier object), with a [`Report`] for its problems, and keeps what `check` returns for
/// the objects it found nothing wrong with.
fn checked<'a, T: kube_core::Resource, R>(
    list: &'a [Sourced<T>],
    errors: &mut Vec<ConfigError>,
    mut check: impl FnMut(&'a str, &'a Sourced<T>, &mut Report<'_>) -> Option<R>,
) -> Vec<R> {
    let mut names = Names {
        first: BTreeMap::new(),
    };
    let mut out = Vec::new();
    for o in list {
        let Some(name) = names.claim(o, errors) else {
            continue;
        };
        let mut report = Report::new(&o.source, errors);
        let result = check(name, o, &mut report);
        if let Some(r) = result.filter(|_| report.clean()) {
            out.push(r);
        }
    }
    out
}
