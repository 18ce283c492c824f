//! Address pools: entries parsed, no address in two places (within a pool or between pools),
//! `serviceAllocation` read.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use super::checked;
use crate::address;
use crate::crd::ip_address_pool::{IPAddressPool, ServiceAllocation as ServiceAllocationSpec};
use crate::error::{ConfigError, Problem};
use crate::inputs::Sourced;
use crate::label_selector;
use crate::model::{Pool, ServiceAllocation};
use crate::source::{FieldPath, Report, Source};

/// One address entry of a pool, as written and as CIDRs.
pub(super) struct Entry {
    /// The entry as written.
    pub(super) text: String,
    /// Its CIDRs.
    pub(super) cidrs: Vec<IpNet>,
}

/// A usable pool with what advertisements need to know about it.
pub(super) struct Checked<'a> {
    /// Where the pool is defined.
    pub(super) source: &'a Source,
    /// The pool's labels (advertisements select pools by label).
    pub(super) labels: BTreeMap<String, String>,
    /// Its entries.
    pub(super) entries: Vec<Entry>,
    /// The pool, advertisements still to be attached.
    pub(super) pool: Pool,
}

/// A CIDR already taken, and by which entry.
struct Taken<'a> {
    cidr: IpNet,
    entry: &'a str,
    source: &'a Source,
    index: usize,
}

/// The usable pools in input order; problems go to `errors`.
pub(super) fn pools<'a>(
    list: &'a [Sourced<IPAddressPool>],
    errors: &mut Vec<ConfigError>,
) -> Vec<Checked<'a>> {
    // Entries of every pool so far, broken pools included: an address in two pools is
    // reported whichever of them has other problems.
    let mut taken: Vec<Taken<'a>> = Vec::new();
    checked(list, errors, |name, p, report| {
        let spec = &p.object.spec;
        let addresses = FieldPath::spec().field("addresses");
        if spec.addresses.is_empty() {
            report.error(&addresses, Problem::NoAddresses);
        }
        let mut entries = Vec::new();
        for (i, text) in spec.addresses.iter().enumerate() {
            let at = addresses.index(i);
            let cidrs = match address::parse_entry(text) {
                Ok(cidrs) => cidrs,
                Err(problem) => {
                    report.error(&at, problem);
                    continue;
                }
            };
            let clash = taken
                .iter()
                .find(|t| cidrs.iter().any(|c| address::overlap(c, &t.cidr)));
            if let Some(t) = clash {
                report.error(
                    &at,
                    Problem::Overlap {
                        entry: text.clone(),
                        other_entry: t.entry.to_string(),
                        other: t.source.describe(&addresses.index(t.index)),
                    },
                );
                continue;
            }
            taken.extend(cidrs.iter().map(|&cidr| Taken {
                cidr,
                entry: text,
                source: &p.source,
                index: i,
            }));
            entries.push(Entry {
                text: text.clone(),
                cidrs,
            });
        }
        let service_allocation = match &spec.service_allocation {
            Some(s) => Some(service_allocation(s, report)?),
            None => None,
        };
        Some(Checked {
            source: &p.source,
            labels: p.object.metadata.labels.clone().unwrap_or_default(),
            pool: Pool {
                name: name.to_string(),
                cidrs: entries
                    .iter()
                    .flat_map(|e| e.cidrs.iter().copied())
                    .collect(),
                avoid_buggy_ips: spec.avoid_buggy_ips,
                auto_assign: spec.auto_assign.unwrap_or(true),
                service_allocation,
                bgp_advertisements: Vec::new(),
                l2_advertisements: Vec::new(),
            },
            entries,
        })
    })
}

fn service_allocation(
    s: &ServiceAllocationSpec,
    report: &mut Report<'_>,
) -> Option<ServiceAllocation> {
    let path = FieldPath::spec().field("serviceAllocation");
    let priority = match i32::try_from(s.priority) {
        Ok(p) => Some(p),
        Err(_) => {
            report.error(
                &path.field("priority"),
                Problem::OutOfRange {
                    value: s.priority,
                    min: i32::MIN.into(),
                    max: i32::MAX.into(),
                },
            );
            None
        }
    };
    report.no_repeats(&s.namespaces, &path.field("namespaces"));
    let namespace_selectors = label_selector::convert_list(
        &s.namespace_selectors,
        &path.field("namespaceSelectors"),
        report,
    );
    let service_selectors = label_selector::convert_list(
        &s.service_selectors,
        &path.field("serviceSelectors"),
        report,
    );
    Some(ServiceAllocation {
        priority: priority?,
        namespaces: s.namespaces.iter().cloned().collect::<BTreeSet<_>>(),
        namespace_selectors,
        service_selectors,
    })
}
