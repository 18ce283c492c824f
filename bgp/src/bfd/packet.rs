//! The BFD Control packet of RFC 5880 §4.1: encode, decode and the stateless checks of
//! §6.8.6. Pure: no I/O, no allocation, never panics on any input.
//!
//! Decoding is strict: a packet any of the §6.8.6 rules says to discard is an error naming
//! the rule, so the receiving task can count and log why it dropped it. The authentication
//! section is not supported (no session of ours uses authentication), so a packet with the
//! A bit is refused, as §6.8.6 requires when `bfd.AuthType` is zero.

use std::fmt;
use std::time::Duration;

/// The protocol version this codec speaks (RFC 5880).
pub const VERSION: u8 = 1;
/// Length of a Control packet without authentication section.
pub const PACKET_LEN: usize = 24;
/// Shortest Length field allowed when the A bit is set (§6.8.6).
const MIN_LEN_WITH_AUTH: u8 = 26;

/// Session states of RFC 5880 §4.1 (the `Sta` field), in their wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Held down by its operator.
    AdminDown,
    /// Down, or never up.
    Down,
    /// The remote end was heard and is down; waiting for it to see us.
    Init,
    /// Both ends see each other.
    Up,
}

impl State {
    /// The 2-bit wire value.
    pub fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// The state of a 2-bit wire value (only the low two bits are read).
    pub fn from_bits(bits: u8) -> State {
        match bits & 0b11 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The name FRR prints (`show bfd peers`): `down`, `init`, `up`, `shutdown`.
    pub fn frr_name(self) -> &'static str {
        match self {
            State::AdminDown => "shutdown",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Diagnostic codes of RFC 5880 §4.1: why the sender's session last changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    /// 0: No Diagnostic.
    None,
    /// 1: Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9–31: reserved; kept so a packet re-encodes as it came.
    Reserved(u8),
}

impl Diagnostic {
    /// The 5-bit wire value.
    pub fn code(self) -> u8 {
        match self {
            Diagnostic::None => 0,
            Diagnostic::ControlDetectionTimeExpired => 1,
            Diagnostic::EchoFunctionFailed => 2,
            Diagnostic::NeighborSignaledDown => 3,
            Diagnostic::ForwardingPlaneReset => 4,
            Diagnostic::PathDown => 5,
            Diagnostic::ConcatenatedPathDown => 6,
            Diagnostic::AdministrativelyDown => 7,
            Diagnostic::ReverseConcatenatedPathDown => 8,
            Diagnostic::Reserved(code) => code & 0x1f,
        }
    }

    /// The diagnostic of a 5-bit wire value (only the low five bits are read).
    pub fn from_code(code: u8) -> Diagnostic {
        match code & 0x1f {
            0 => Diagnostic::None,
            1 => Diagnostic::ControlDetectionTimeExpired,
            2 => Diagnostic::EchoFunctionFailed,
            3 => Diagnostic::NeighborSignaledDown,
            4 => Diagnostic::ForwardingPlaneReset,
            5 => Diagnostic::PathDown,
            6 => Diagnostic::ConcatenatedPathDown,
            7 => Diagnostic::AdministrativelyDown,
            8 => Diagnostic::ReverseConcatenatedPathDown,
            other => Diagnostic::Reserved(other),
        }
    }

    /// The words FRR prints for it (`show bfd peers`, "Diagnostics:").
    pub fn frr_name(self) -> &'static str {
        match self {
            Diagnostic::None => "ok",
            Diagnostic::ControlDetectionTimeExpired => "control detection time expired",
            Diagnostic::EchoFunctionFailed => "echo function failed",
            Diagnostic::NeighborSignaledDown => "neighbor signaled session down",
            Diagnostic::ForwardingPlaneReset => "forwarding plane reset",
            Diagnostic::PathDown => "path down",
            Diagnostic::ConcatenatedPathDown => "concatenated path down",
            Diagnostic::AdministrativelyDown => "administratively down",
            Diagnostic::ReverseConcatenatedPathDown => "reverse concatenated path down",
            Diagnostic::Reserved(_) => "unknown",
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.frr_name())
    }
}

/// One BFD Control packet (authentication is not supported, so there is no section for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPacket {
    /// Why the sender last changed state.
    pub diagnostic: Diagnostic,
    /// The sender's session state.
    pub state: State,
    /// P: the sender asks for a Final (a parameter change, §6.5).
    pub poll: bool,
    /// F: the answer to a Poll.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// D: the sender wants Demand mode.
    pub demand: bool,
    /// Detect Mult: the sender's detection time multiplier.
    pub detect_mult: u8,
    /// My Discriminator: the sender's id of the session (never zero).
    pub my_discriminator: u32,
    /// Your Discriminator: the receiver's id as the sender knows it (zero until learnt).
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, microseconds (zero: send me no periodic packets).
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, microseconds (zero: no Echo packets).
    pub required_min_echo_rx: u32,
}

/// Why a received datagram is not a Control packet a session may act on (RFC 5880 §6.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Fewer octets than the mandatory section.
    #[error("datagram of {len} octets is shorter than a BFD Control packet (24)")]
    Truncated {
        /// Octets received.
        len: usize,
    },
    /// The version field is not 1.
    #[error("BFD version {version}, expected 1")]
    Version {
        /// The version received.
        version: u8,
    },
    /// The Length field is below the minimum for the A bit's setting.
    #[error("Length field {length} is below the minimum {minimum}")]
    LengthTooSmall {
        /// The Length field.
        length: u8,
        /// 24, or 26 with the A bit.
        minimum: u8,
    },
    /// The Length field claims more octets than the datagram holds.
    #[error("Length field {length} exceeds the {datagram} octets received")]
    LengthExceedsDatagram {
        /// The Length field.
        length: u8,
        /// Octets received.
        datagram: usize,
    },
    /// Detect Mult is zero.
    #[error("Detect Mult is zero")]
    ZeroDetectMult,
    /// The Multipoint bit is set (reserved for point-to-multipoint extensions).
    #[error("Multipoint (M) bit is set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("My Discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while the sender is neither Down nor AdminDown.
    #[error("Your Discriminator is zero in state {state}")]
    ZeroYourDiscriminator {
        /// The sender's state.
        state: State,
    },
    /// Both Poll and Final are set (§4.1 forbids it).
    #[error("both Poll (P) and Final (F) bits are set")]
    PollAndFinal,
    /// The A bit is set; no session of ours uses authentication.
    #[error("Authentication Present (A) bit set; authentication is not configured")]
    Authenticated,
}

const FLAG_POLL: u8 = 0x20;
const FLAG_FINAL: u8 = 0x10;
const FLAG_CPI: u8 = 0x08;
const FLAG_AUTH: u8 = 0x04;
const FLAG_DEMAND: u8 = 0x02;
const FLAG_MULTIPOINT: u8 = 0x01;

impl ControlPacket {
    /// The 24 octets of the packet.
    pub fn encode(&self) -> [u8; PACKET_LEN] {
        let mut out = [0u8; PACKET_LEN];
        out[0] = (VERSION << 5) | self.diagnostic.code();
        let mut flags = self.state.bits() << 6;
        for (set, bit) in [
            (self.poll, FLAG_POLL),
            (self.final_, FLAG_FINAL),
            (self.control_plane_independent, FLAG_CPI),
            (self.demand, FLAG_DEMAND),
        ] {
            if set {
                flags |= bit;
            }
        }
        out[1] = flags;
        out[2] = self.detect_mult;
        out[3] = PACKET_LEN as u8;
        out[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        out[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        out[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        out[20..24].copy_from_slice(&self.required_min_echo_rx.to_be_bytes());
        out
    }

    /// Decodes a received datagram and applies the checks of §6.8.6 that need no session.
    pub fn decode(datagram: &[u8]) -> Result<ControlPacket, PacketError> {
        let Some(fixed) = datagram.first_chunk::<PACKET_LEN>() else {
            return Err(PacketError::Truncated {
                len: datagram.len(),
            });
        };
        let version = fixed[0] >> 5;
        if version != VERSION {
            return Err(PacketError::Version { version });
        }
        let flags = fixed[1];
        let length = fixed[3];
        let minimum = if flags & FLAG_AUTH != 0 {
            MIN_LEN_WITH_AUTH
        } else {
            PACKET_LEN as u8
        };
        if length < minimum {
            return Err(PacketError::LengthTooSmall { length, minimum });
        }
        if usize::from(length) > datagram.len() {
            return Err(PacketError::LengthExceedsDatagram {
                length,
                datagram: datagram.len(),
            });
        }
        let detect_mult = fixed[2];
        if detect_mult == 0 {
            return Err(PacketError::ZeroDetectMult);
        }
        if flags & FLAG_MULTIPOINT != 0 {
            return Err(PacketError::Multipoint);
        }
        let word = |at: usize| {
            u32::from_be_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]])
        };
        let my_discriminator = word(4);
        if my_discriminator == 0 {
            return Err(PacketError::ZeroMyDiscriminator);
        }
        let state = State::from_bits(flags >> 6);
        let your_discriminator = word(8);
        if your_discriminator == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(PacketError::ZeroYourDiscriminator { state });
        }
        let poll = flags & FLAG_POLL != 0;
        let final_ = flags & FLAG_FINAL != 0;
        if poll && final_ {
            return Err(PacketError::PollAndFinal);
        }
        if flags & FLAG_AUTH != 0 {
            return Err(PacketError::Authenticated);
        }
        Ok(ControlPacket {
            diagnostic: Diagnostic::from_code(fixed[0]),
            state,
            poll,
            final_,
            control_plane_independent: flags & FLAG_CPI != 0,
            demand: flags & FLAG_DEMAND != 0,
            detect_mult,
            my_discriminator,
            your_discriminator,
            desired_min_tx: word(12),
            required_min_rx: word(16),
            required_min_echo_rx: word(20),
        })
    }

    /// Desired Min TX Interval as a duration.
    pub fn desired_min_tx_interval(&self) -> Duration {
        Duration::from_micros(u64::from(self.desired_min_tx))
    }

    /// Required Min RX Interval as a duration.
    pub fn required_min_rx_interval(&self) -> Duration {
        Duration::from_micros(u64::from(self.required_min_rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A packet FRR's bfdd sends on a new session: Down, no diagnostic, multiplier 3, our
    /// discriminator unknown yet, 1 s TX (the floor while not Up), 300 ms RX, echo 50 ms.
    const FRR_DOWN: [u8; 24] = [
        0x20, 0x40, 0x03, 0x18, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42,
        0x40, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0xc3, 0x50,
    ];

    fn frr_down() -> ControlPacket {
        ControlPacket {
            diagnostic: Diagnostic::None,
            state: State::Down,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 42,
            your_discriminator: 0,
            desired_min_tx: 1_000_000,
            required_min_rx: 300_000,
            required_min_echo_rx: 50_000,
        }
    }

    #[test]
    fn packets_decode_and_encode_as_on_the_wire() {
        let up_poll = ControlPacket {
            diagnostic: Diagnostic::ControlDetectionTimeExpired,
            state: State::Up,
            poll: true,
            your_discriminator: 7,
            desired_min_tx: 300_000,
            ..frr_down()
        };
        let mut up_poll_bytes = FRR_DOWN;
        up_poll_bytes[0] = 0x21;
        up_poll_bytes[1] = 0xe0;
        up_poll_bytes[11] = 7;
        up_poll_bytes[12..16].copy_from_slice(&300_000u32.to_be_bytes());
        let admin_final = ControlPacket {
            diagnostic: Diagnostic::AdministrativelyDown,
            state: State::AdminDown,
            final_: true,
            control_plane_independent: true,
            demand: true,
            ..frr_down()
        };
        let mut admin_final_bytes = FRR_DOWN;
        admin_final_bytes[0] = 0x27;
        admin_final_bytes[1] = 0x1a;
        let table = [
            (FRR_DOWN, frr_down()),
            (up_poll_bytes, up_poll),
            (admin_final_bytes, admin_final),
        ];
        for (bytes, packet) in table {
            assert_eq!(ControlPacket::decode(&bytes), Ok(packet), "{bytes:02x?}");
            assert_eq!(packet.encode(), bytes, "{packet:?}");
        }
    }

    #[test]
    fn every_discard_rule_of_6_8_6_is_a_typed_error() {
        let with = |at: usize, value: u8| {
            let mut bytes = FRR_DOWN;
            bytes[at] = value;
            bytes
        };
        let mut your_zero_up = FRR_DOWN;
        your_zero_up[1] = 0xc0;
        let table: Vec<(Vec<u8>, PacketError)> = vec![
            (FRR_DOWN[..23].to_vec(), PacketError::Truncated { len: 23 }),
            (Vec::new(), PacketError::Truncated { len: 0 }),
            (with(0, 0x40).to_vec(), PacketError::Version { version: 2 }),
            (with(0, 0x00).to_vec(), PacketError::Version { version: 0 }),
            (
                with(3, 23).to_vec(),
                PacketError::LengthTooSmall {
                    length: 23,
                    minimum: 24,
                },
            ),
            (
                with(1, 0x44).to_vec(),
                PacketError::LengthTooSmall {
                    length: 24,
                    minimum: 26,
                },
            ),
            (
                with(3, 25).to_vec(),
                PacketError::LengthExceedsDatagram {
                    length: 25,
                    datagram: 24,
                },
            ),
            (with(2, 0).to_vec(), PacketError::ZeroDetectMult),
            (with(1, 0x41).to_vec(), PacketError::Multipoint),
            (with(7, 0).to_vec(), PacketError::ZeroMyDiscriminator),
            (
                your_zero_up.to_vec(),
                PacketError::ZeroYourDiscriminator { state: State::Up },
            ),
            (
                with(1, 0x80).to_vec(),
                PacketError::ZeroYourDiscriminator { state: State::Init },
            ),
            (with(1, 0x70).to_vec(), PacketError::PollAndFinal),
        ];
        for (bytes, error) in table {
            assert_eq!(ControlPacket::decode(&bytes), Err(error), "{bytes:02x?}");
        }
        // The A bit with a long enough Length and datagram: refused, auth is not configured.
        let mut auth = FRR_DOWN.to_vec();
        auth[1] = 0x44;
        auth[3] = 28;
        auth.extend_from_slice(&[1, 4, 0, 0]);
        assert_eq!(
            ControlPacket::decode(&auth),
            Err(PacketError::Authenticated)
        );
    }

    #[test]
    fn octets_after_the_length_field_are_ignored() {
        let mut longer = FRR_DOWN.to_vec();
        longer.extend_from_slice(&[0xff; 8]);
        assert_eq!(ControlPacket::decode(&longer), Ok(frr_down()));
    }

    fn any_packet() -> impl Strategy<Value = ControlPacket> {
        (
            (
                0u8..32,
                0u8..4,
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
            (1u8..=255, 1u32.., any::<u32>()),
            (any::<u32>(), any::<u32>(), any::<u32>()),
        )
            .prop_map(
                |((diag, state, poll, fin, cpi, demand), (mult, my, your), (tx, rx, echo))| {
                    let state = State::from_bits(state);
                    let your = if your == 0 && !matches!(state, State::Down | State::AdminDown) {
                        1
                    } else {
                        your
                    };
                    ControlPacket {
                        diagnostic: Diagnostic::from_code(diag),
                        state,
                        poll,
                        final_: fin && !poll,
                        control_plane_independent: cpi,
                        demand,
                        detect_mult: mult,
                        my_discriminator: my,
                        your_discriminator: your,
                        desired_min_tx: tx,
                        required_min_rx: rx,
                        required_min_echo_rx: echo,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn every_valid_packet_round_trips(packet in any_packet()) {
            prop_assert_eq!(ControlPacket::decode(&packet.encode()), Ok(packet));
        }

        #[test]
        fn any_datagram_decodes_or_errs_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(packet) = ControlPacket::decode(&bytes) {
                // What decodes re-encodes to the same mandatory section, but for the Length
                // field (always 24 when we send).
                let encoded = packet.encode();
                prop_assert_eq!(&encoded[..3], &bytes[..3]);
                prop_assert_eq!(&encoded[4..], &bytes[4..PACKET_LEN]);
            }
        }
    }
}
