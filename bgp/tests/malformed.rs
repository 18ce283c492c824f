//! Every malformed input of `malformed_cases` gets exactly its required outcome from the
//! codec: a NOTIFICATION (code, subcode, data) or the RFC 7606 treatment. All failing rows are
//! reported together.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod malformed_cases;

use bgp::packet::{Message, UpdateAction, decode_message, frame_length};
use malformed_cases::{Case, Expected, cases};

/// Runs one case; `Err` describes how the outcome differs from the expected one.
fn check(case: &Case) -> Result<(), String> {
    let n = match frame_length(&case.bytes) {
        Err(e) => {
            return match &case.expected {
                Expected::Reset(n) if *n == e.notification() => Ok(()),
                other => Err(format!(
                    "framing failed with {e} ({:?}), expected {other:?}",
                    e.notification()
                )),
            };
        }
        Ok(None) => {
            return match case.expected {
                Expected::Incomplete => Ok(()),
                ref other => Err(format!("framing waits for more octets, expected {other:?}")),
            };
        }
        Ok(Some(n)) => n,
    };
    let frame = case.bytes.get(..n).ok_or("frame length beyond input")?;
    let decoded = match decode_message(frame, &case.opts) {
        Err(e) => {
            return match &case.expected {
                Expected::Reset(n) if *n == e.notification() => Ok(()),
                other => Err(format!(
                    "decode failed with {e} ({:?}), expected {other:?}",
                    e.notification()
                )),
            };
        }
        Ok(d) => d,
    };
    let Message::Update(update) = &decoded.message else {
        return Err(format!(
            "decoded {:?}, expected {:?}",
            decoded.message, case.expected
        ));
    };
    let (action, type_code) = match &case.expected {
        Expected::TreatAsWithdraw {
            type_code,
            withdrawn,
        } => {
            if &update.withdrawn != withdrawn
                || !update.nlri.is_empty()
                || update.attributes.is_some()
                || update.mp_reach.is_some()
            {
                return Err(format!("not withdrawn as expected: {update:?}"));
            }
            (UpdateAction::TreatAsWithdraw, *type_code)
        }
        Expected::AttributeDiscard {
            type_code,
            attributes,
            nlri,
        } => {
            if update.attributes.as_ref() != Some(attributes) || &update.nlri != nlri {
                return Err(format!("attribute not discarded as expected: {update:?}"));
            }
            (UpdateAction::AttributeDiscard, *type_code)
        }
        other => {
            return Err(format!(
                "decoded {update:?} with {:?}, expected {other:?}",
                decoded.issues
            ));
        }
    };
    match decoded.issues.as_slice() {
        [issue] if issue.action == action && issue.type_code == type_code => Ok(()),
        issues => Err(format!(
            "issues {issues:?}, expected one {action:?} of attribute {type_code}"
        )),
    }
}

#[test]
fn every_malformed_input_gets_its_rfc_outcome() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut names = std::collections::HashSet::new();
    let failures: Vec<String> = cases
        .iter()
        .inspect(|c| assert!(names.insert(c.name), "duplicate case name {}", c.name))
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_issue_and_error_prints_a_message() {
    for case in cases() {
        if let Ok(Some(n)) = frame_length(&case.bytes) {
            match decode_message(&case.bytes[..n], &case.opts) {
                Ok(d) => d
                    .issues
                    .iter()
                    .for_each(|i| assert!(!i.to_string().is_empty())),
                Err(e) => assert!(!e.to_string().is_empty(), "{}", case.name),
            }
        }
    }
}
