//! BFD profiles: names unique, values within MetalLB's bounds.

use std::collections::BTreeMap;

use super::checked;
use crate::crd::bfd_profile::BFDProfile;
use crate::error::{ConfigError, Problem};
use crate::inputs::Sourced;
use crate::model::BfdProfile;
use crate::source::FieldPath;

/// The usable profiles by name; problems go to `errors`.
pub(super) fn profiles(
    list: &[Sourced<BFDProfile>],
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, BfdProfile> {
    let profiles = checked(list, errors, |name, p, report| {
        let spec = &p.object.spec;
        let path = FieldPath::spec();
        let mut bounded = |value: Option<u32>, field: &'static str, min: u32, max: u32| {
            if let Some(v) = value
                && !(min..=max).contains(&v)
            {
                report.error(
                    &path.field(field),
                    Problem::OutOfRange {
                        value: v.into(),
                        min: min.into(),
                        max: max.into(),
                    },
                );
            }
            value
        };
        Some(BfdProfile {
            name: name.to_string(),
            receive_interval: bounded(spec.receive_interval, "receiveInterval", 10, 60000),
            transmit_interval: bounded(spec.transmit_interval, "transmitInterval", 10, 60000),
            detect_multiplier: bounded(spec.detect_multiplier, "detectMultiplier", 2, 255),
            echo_interval: bounded(spec.echo_interval, "echoInterval", 10, 60000),
            echo_mode: spec.echo_mode.unwrap_or(false),
            passive_mode: spec.passive_mode.unwrap_or(false),
            minimum_ttl: bounded(spec.minimum_ttl, "minimumTtl", 1, 254),
        })
    });
    profiles.into_iter().map(|p| (p.name.clone(), p)).collect()
}
