//! OPEN message capabilities (RFC 5492) and the values this implementation understands.

use super::family::AfiSafi;

/// Capability code: Multiprotocol Extensions (RFC 4760).
pub const CAP_MULTIPROTOCOL: u8 = 1;
/// Capability code: Route Refresh (RFC 2918).
pub const CAP_ROUTE_REFRESH: u8 = 2;
/// Capability code: Graceful Restart (RFC 4724).
pub const CAP_GRACEFUL_RESTART: u8 = 64;
/// Capability code: 4-octet AS numbers (RFC 6793).
pub const CAP_FOUR_OCTET_AS: u8 = 65;
/// Capability code: ADD-PATH (RFC 7911).
pub const CAP_ADD_PATH: u8 = 69;

/// One capability of an OPEN message. Capabilities we parse but do not implement (add-path)
/// are decoded so they can be logged and refused cleanly; anything else is kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol Extensions for one AFI/SAFI.
    Multiprotocol(AfiSafi),
    /// Route Refresh.
    RouteRefresh,
    /// 4-octet AS number support, carrying the speaker's real AS.
    FourOctetAs(u32),
    /// Graceful Restart (RFC 4724, with the N bit of RFC 8538).
    GracefulRestart(GracefulRestart),
    /// ADD-PATH (parsed, not implemented: we never advertise it, so peers must not send paths ids).
    AddPath(Vec<AddPathFamily>),
    /// Any other capability, kept as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value bytes.
        value: Vec<u8>,
    },
}

/// The largest Restart Time the 12-bit field holds (seconds).
pub const MAX_RESTART_TIME: u16 = 0x0FFF;

/// Restart Flags bit: Restart State (R), the sender has restarted (RFC 4724 §3).
const FLAG_RESTART_STATE: u16 = 0x8000;
/// Restart Flags bit: Graceful Notification (N), the sender supports graceful restart on
/// NOTIFICATION messages (RFC 8538 §2).
const FLAG_NOTIFICATION: u16 = 0x4000;
/// Flags for Address Family bit: Forwarding State (F).
const FLAG_FORWARDING_STATE: u8 = 0x80;

/// The value of a Graceful Restart capability (RFC 4724 §3). Reserved bits are not kept:
/// the RFC has senders clear them and receivers ignore them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// Restart State (R): the sender has just restarted, so its peer must not wait for its
    /// End-of-RIB before sending it routes.
    pub restart_state: bool,
    /// Graceful Notification (N, RFC 8538): the sender keeps the graceful restart
    /// procedures for NOTIFICATIONs other than Cease/Hard Reset too.
    pub notification: bool,
    /// Restart Time in seconds, at most [`MAX_RESTART_TIME`]: how long the peer should keep
    /// the sender's routes after the session went down, waiting for a new one.
    pub restart_time: u16,
    /// Families the sender can keep its forwarding state for across a restart; none for a
    /// speaker that only helps its peers restart.
    pub families: Vec<GracefulRestartFamily>,
}

/// One family of a Graceful Restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartFamily {
    /// The family.
    pub afi_safi: AfiSafi,
    /// Forwarding State (F): the sender kept forwarding for this family during its restart.
    pub forwarding_preserved: bool,
}

/// Why a Graceful Restart capability value cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GracefulRestartError {
    /// The value is not the 2-octet flags and time followed by 4 octets per family.
    #[error(
        "graceful restart capability of {length} octets (2 for flags and time, then 4 per address family)"
    )]
    Length {
        /// The capability's length.
        length: usize,
    },
    /// A Restart Time beyond the 12-bit field was to be encoded.
    #[error("graceful restart time {0} s exceeds the 12-bit field (at most {MAX_RESTART_TIME})")]
    RestartTime(u16),
}

impl GracefulRestart {
    /// Decodes a capability value (without the code and length octets).
    pub fn decode(value: &[u8]) -> Result<Self, GracefulRestartError> {
        let length = value.len();
        let Some((head, rest)) = value.split_first_chunk::<2>() else {
            return Err(GracefulRestartError::Length { length });
        };
        if rest.len() % 4 != 0 {
            return Err(GracefulRestartError::Length { length });
        }
        let word = u16::from_be_bytes(*head);
        let families = rest
            .chunks_exact(4)
            .filter_map(|chunk| match *chunk {
                [a, b, safi, flags] => Some(GracefulRestartFamily {
                    afi_safi: AfiSafi::new(u16::from_be_bytes([a, b]), safi),
                    forwarding_preserved: flags & FLAG_FORWARDING_STATE != 0,
                }),
                _ => None,
            })
            .collect();
        Ok(GracefulRestart {
            restart_state: word & FLAG_RESTART_STATE != 0,
            notification: word & FLAG_NOTIFICATION != 0,
            restart_time: word & MAX_RESTART_TIME,
            families,
        })
    }

    /// Encodes the capability value (without the code and length octets).
    pub fn encode(&self) -> Result<Vec<u8>, GracefulRestartError> {
        if self.restart_time > MAX_RESTART_TIME {
            return Err(GracefulRestartError::RestartTime(self.restart_time));
        }
        let mut word = self.restart_time;
        if self.restart_state {
            word |= FLAG_RESTART_STATE;
        }
        if self.notification {
            word |= FLAG_NOTIFICATION;
        }
        let mut value = Vec::with_capacity(2 + 4 * self.families.len());
        value.extend_from_slice(&word.to_be_bytes());
        for family in &self.families {
            value.extend_from_slice(&family.afi_safi.afi.to_be_bytes());
            value.push(family.afi_safi.safi);
            value.push(if family.forwarding_preserved {
                FLAG_FORWARDING_STATE
            } else {
                0
            });
        }
        Ok(value)
    }

    /// The entry of `afi_safi`, if the capability lists it (the last one if listed twice).
    pub fn family(&self, afi_safi: AfiSafi) -> Option<&GracefulRestartFamily> {
        self.families.iter().rev().find(|f| f.afi_safi == afi_safi)
    }
}

/// One family of an ADD-PATH capability (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathFamily {
    /// The family.
    pub afi_safi: AfiSafi,
    /// 1 = receive, 2 = send, 3 = both.
    pub send_receive: u8,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn family(afi: u16, safi: u8, forwarding_preserved: bool) -> GracefulRestartFamily {
        GracefulRestartFamily {
            afi_safi: AfiSafi::new(afi, safi),
            forwarding_preserved,
        }
    }

    /// `(value octets, decoded)` pairs, written from RFC 4724 §3 and RFC 8538 §2.
    fn table() -> Vec<(&'static str, Vec<u8>, GracefulRestart)> {
        vec![
            (
                "helper only: no flags, 120 s, no family (FRR's default)",
                vec![0x00, 0x78],
                GracefulRestart {
                    restart_state: false,
                    notification: false,
                    restart_time: 120,
                    families: vec![],
                },
            ),
            (
                "restarted, N bit, 120 s, IPv4 unicast not preserved (FRR after a restart)",
                vec![0xC0, 0x78, 0, 1, 1, 0x00],
                GracefulRestart {
                    restart_state: true,
                    notification: true,
                    restart_time: 120,
                    families: vec![family(1, 1, false)],
                },
            ),
            (
                "largest time, IPv4 and IPv6 unicast preserved",
                vec![0x0F, 0xFF, 0, 1, 1, 0x80, 0, 2, 1, 0x80],
                GracefulRestart {
                    restart_state: false,
                    notification: false,
                    restart_time: MAX_RESTART_TIME,
                    families: vec![family(1, 1, true), family(2, 1, true)],
                },
            ),
            (
                "a family we do not route is kept",
                vec![0x80, 0x00, 0, 25, 70, 0x80],
                GracefulRestart {
                    restart_state: true,
                    notification: false,
                    restart_time: 0,
                    families: vec![family(25, 70, true)],
                },
            ),
        ]
    }

    #[test]
    fn values_decode_and_encode_as_the_rfc_lays_them_out() {
        for (name, bytes, value) in table() {
            assert_eq!(GracefulRestart::decode(&bytes), Ok(value.clone()), "{name}");
            assert_eq!(value.encode(), Ok(bytes), "{name}");
        }
    }

    #[test]
    fn reserved_bits_are_ignored_on_receipt() {
        // Both reserved Restart Flags bits and the seven reserved family flag bits set.
        let decoded = GracefulRestart::decode(&[0x30, 0x78, 0, 1, 1, 0x7F]).unwrap();
        assert_eq!(
            decoded,
            GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![family(1, 1, false)],
            }
        );
        assert_eq!(decoded.encode().unwrap(), vec![0x00, 0x78, 0, 1, 1, 0x00]);
    }

    #[test]
    fn values_of_a_wrong_length_are_refused() {
        for bytes in [
            &[][..],
            &[0x00],
            &[0x00, 0x78, 0],
            &[0x00, 0x78, 0, 1, 1],
            &[0x00, 0x78, 0, 1, 1, 0x80, 0, 2],
        ] {
            assert_eq!(
                GracefulRestart::decode(bytes),
                Err(GracefulRestartError::Length {
                    length: bytes.len()
                }),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_restart_time_beyond_twelve_bits_is_not_encoded() {
        let value = GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 4096,
            families: vec![],
        };
        assert_eq!(value.encode(), Err(GracefulRestartError::RestartTime(4096)));
    }

    #[test]
    fn the_last_entry_of_a_family_listed_twice_counts() {
        let value = GracefulRestart::decode(&[0, 1, 0, 1, 1, 0x80, 0, 1, 1, 0]).unwrap();
        assert_eq!(
            value
                .family(AfiSafi::new(1, 1))
                .map(|f| f.forwarding_preserved),
            Some(false)
        );
        assert_eq!(value.family(AfiSafi::new(2, 1)), None);
    }

    fn arb_value() -> impl Strategy<Value = GracefulRestart> {
        (
            any::<bool>(),
            any::<bool>(),
            0..=MAX_RESTART_TIME,
            prop::collection::vec(
                (any::<u16>(), any::<u8>(), any::<bool>()).prop_map(|(a, s, f)| family(a, s, f)),
                0..8,
            ),
        )
            .prop_map(|(restart_state, notification, restart_time, families)| {
                GracefulRestart {
                    restart_state,
                    notification,
                    restart_time,
                    families,
                }
            })
    }

    proptest! {
        #[test]
        fn every_value_round_trips(value in arb_value()) {
            let bytes = value.encode().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(bytes.len(), 2 + 4 * value.families.len());
            prop_assert_eq!(GracefulRestart::decode(&bytes), Ok(value));
        }

        #[test]
        fn any_octets_decode_or_are_refused_by_length(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            match GracefulRestart::decode(&bytes) {
                Ok(value) => {
                    prop_assert_eq!(bytes.len() % 4, 2);
                    // Re-encoding clears only the reserved bits.
                    let again = value.encode().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(again.len(), bytes.len());
                    prop_assert_eq!(GracefulRestart::decode(&again), Ok(value));
                }
                Err(err) => {
                    prop_assert_ne!(bytes.len() % 4, 2);
                    prop_assert_eq!(err, GracefulRestartError::Length { length: bytes.len() });
                }
            }
        }
    }
}
