//! BGP community values as MetalLB writes them: `AS:VALUE` (RFC 1997, two 16-bit numbers) or
//! `large:GLOBAL:LOCAL1:LOCAL2` (RFC 8092, three 32-bit numbers).

use crate::model::Community;

/// Why a string is not a community value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotACommunity {
    /// Not shaped like one (no `:`, or a count of parts that fits neither form): it may be the
    /// name of an alias.
    Format,
    /// Shaped like one, with a part that is out of range or not a number.
    Value(String),
}

/// Parses `text` as MetalLB's `community.New` does.
pub(crate) fn parse(text: &str) -> Result<Community, NotACommunity> {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [high, low] => {
            let high = number::<u16>(high, text)?;
            let low = number::<u16>(low, text)?;
            Ok(Community::Standard(u32::from(high) << 16 | u32::from(low)))
        }
        [marker, global, local1, local2] => {
            if *marker != "large" {
                return Err(NotACommunity::Value(format!(
                    "a large community is written large:GLOBAL:LOCAL1:LOCAL2, not {marker:?}:…"
                )));
            }
            Ok(Community::Large(
                number(global, text)?,
                number(local1, text)?,
                number(local2, text)?,
            ))
        }
        _ => Err(NotACommunity::Format),
    }
}

/// One decimal part of a community, as Go's `strconv.ParseUint` reads it.
fn number<T: std::str::FromStr>(part: &str, text: &str) -> Result<T, NotACommunity> {
    let digits_only = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match part.parse::<T>() {
        Ok(v) if digits_only => Ok(v),
        _ => Err(NotACommunity::Value(format!(
            "{part:?} of {text:?} is not a number between 0 and {}",
            if std::mem::size_of::<T>() == 2 {
                u16::MAX as u64
            } else {
                u32::MAX as u64
            }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communities_parse_in_both_forms() {
        assert_eq!(parse("64512:1"), Ok(Community::Standard(64512 << 16 | 1)));
        assert_eq!(parse("65535:65281"), Ok(Community::Standard(0xffff_ff01)));
        assert_eq!(parse("0:0"), Ok(Community::Standard(0)));
        assert_eq!(
            parse("large:4294967295:1:2"),
            Ok(Community::Large(u32::MAX, 1, 2))
        );
    }

    #[test]
    fn shapes_that_fit_no_form_may_be_aliases() {
        for text in ["no-export", "", "1:2:3", "a:b:c:d:e"] {
            assert_eq!(parse(text), Err(NotACommunity::Format), "{text:?}");
        }
    }

    #[test]
    fn bad_parts_say_which() {
        let cases = [
            (
                "65536:1",
                "\"65536\" of \"65536:1\" is not a number between 0 and 65535",
            ),
            (
                "1:x",
                "\"x\" of \"1:x\" is not a number between 0 and 65535",
            ),
            (
                "+1:1",
                "\"+1\" of \"+1:1\" is not a number between 0 and 65535",
            ),
            (
                "large:1:2:4294967296",
                "\"4294967296\" of \"large:1:2:4294967296\" is not a number between 0 and 4294967295",
            ),
            (
                "big:1:2:3",
                "a large community is written large:GLOBAL:LOCAL1:LOCAL2, not \"big\":…",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse(text),
                Err(NotACommunity::Value(want.into())),
                "{text}"
            );
        }
    }
}
