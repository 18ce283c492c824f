//! One BFD session's state machine (RFC 5880 §6.2, §6.8), sans I/O.
//!
//! The machine owns no socket and no timer. The task feeds it decoded packets (after the
//! stateless checks of [`super::packet`] and the demultiplexing by discriminator) and the
//! current time, sleeps until [`Session::next_deadline`], calls [`Session::poll_timers`], and
//! sends the packets in the returned [`Action`]s. Only asynchronous mode is implemented:
//! neither Demand mode nor the Echo function is ever asked for, but a peer in Demand mode is
//! honoured (§6.8.7: no periodic packets to it while both are Up).
//!
//! Timer negotiation follows §6.8.2–§6.8.4: packets go every
//! max(`bfd.DesiredMinTxInterval`, `bfd.RemoteMinRxInterval`) less 0–25 % jitter (§6.8.7); the
//! detection time is the peer's Detect Mult × max(`bfd.RequiredMinRxInterval`, the peer's
//! Desired Min TX). While not Up we send at most once a second (§6.8.3). A change of our
//! intervals while Up starts a Poll Sequence (§6.5): until the peer's Final a slower TX
//! interval or a shorter RX interval is not used yet, a faster TX or longer RX at once.
//!
//! Besides the periodic packets, one goes at once when the state changes (as FRR's and BIRD's
//! implementations do, so a session comes up in one round trip) and when a Poll starts; the
//! answer to a peer's Poll (Final) goes at once too, as §6.8.7 allows.

use std::time::{Duration, Instant};

use super::packet::{ControlPacket, Diagnostic, State};

/// The fastest a session sends while it is not Up (§6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// The timers an operator sets (FRR `profile`, MetalLB `BFDProfile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timers {
    /// `bfd.DesiredMinTxInterval`: how often we would like to send (FRR `transmit-interval`).
    pub desired_min_tx: Duration,
    /// `bfd.RequiredMinRxInterval`: how often we can take packets (FRR `receive-interval`).
    pub required_min_rx: Duration,
    /// `bfd.DetectMult` (FRR `detect-multiplier`).
    pub detect_mult: u8,
}

impl Timers {
    /// FRR's and MetalLB's defaults: 300 ms each way, multiplier 3.
    pub const DEFAULT: Timers = Timers {
        desired_min_tx: Duration::from_millis(300),
        required_min_rx: Duration::from_millis(300),
        detect_mult: 3,
    };
}

impl Timers {
    /// Timers from an operator's millisecond values, FRR's defaults where none is given
    /// (FRR's `profile` and MetalLB's `BFDProfile` fields).
    pub fn from_millis(
        transmit_ms: Option<u32>,
        receive_ms: Option<u32>,
        detect_mult: Option<u8>,
    ) -> Timers {
        let ms = |v: Option<u32>, default: Duration| {
            v.map_or(default, |ms| Duration::from_millis(u64::from(ms)))
        };
        Timers {
            desired_min_tx: ms(transmit_ms, Timers::DEFAULT.desired_min_tx),
            required_min_rx: ms(receive_ms, Timers::DEFAULT.required_min_rx),
            detect_mult: detect_mult.unwrap_or(Timers::DEFAULT.detect_mult),
        }
    }
}

impl Default for Timers {
    fn default() -> Self {
        Timers::DEFAULT
    }
}

/// How a session is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SessionConfig {
    /// The timers.
    pub timers: Timers,
    /// Passive role (§6.1): send nothing until the peer has been heard.
    pub passive: bool,
    /// Held in AdminDown (FRR `shutdown`).
    pub admin_down: bool,
}

/// Something the task must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send this packet to the peer.
    Send(ControlPacket),
    /// The session changed state.
    StateChange(Transition),
}

/// A change of the session state, with the diagnostics at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Our diagnostic after the change (why we went down, when we did).
    pub local_diagnostic: Diagnostic,
    /// The peer's last diagnostic.
    pub remote_diagnostic: Diagnostic,
}

/// What we know of the peer's end (the `bfd.Remote*` variables and its last packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    /// `bfd.RemoteDiscr` (zero while unknown or after a detection timeout).
    pub discriminator: u32,
    /// `bfd.RemoteSessionState`.
    pub state: State,
    /// Its last diagnostic.
    pub diagnostic: Diagnostic,
    /// Its Detect Mult (zero until heard).
    pub detect_mult: u8,
    /// Its Desired Min TX Interval.
    pub desired_min_tx: Duration,
    /// `bfd.RemoteMinRxInterval`.
    pub required_min_rx: Duration,
    /// Its Required Min Echo RX Interval.
    pub required_min_echo_rx: Duration,
    /// `bfd.RemoteDemandMode`.
    pub demand: bool,
}

/// The session state machine.
#[derive(Debug, Clone)]
pub struct Session {
    config: SessionConfig,
    local_discriminator: u32,
    state: State,
    local_diagnostic: Diagnostic,
    remote: Remote,
    /// The Desired Min TX that the TX interval is computed from (may lag behind the one we
    /// advertise during a Poll Sequence).
    tx_in_force: Duration,
    /// The Required Min RX that the detection time is computed from (idem).
    rx_in_force: Duration,
    /// A Poll Sequence is under way.
    polling: bool,
    next_tx: Option<Instant>,
    detect_at: Option<Instant>,
    /// xorshift64* state for the jitter.
    rng: u64,
}

impl Session {
    /// A session in Down (or AdminDown) with our discriminator `local_discriminator` (not
    /// zero; the task hands them out). `seed` seeds the jitter. The first packet goes at
    /// once unless the session is passive.
    pub fn new(local_discriminator: u32, config: SessionConfig, seed: u64, now: Instant) -> Self {
        let state = if config.admin_down {
            State::AdminDown
        } else {
            State::Down
        };
        let mut session = Session {
            config,
            local_discriminator,
            state,
            local_diagnostic: if config.admin_down {
                Diagnostic::AdministrativelyDown
            } else {
                Diagnostic::None
            },
            remote: Remote {
                discriminator: 0,
                state: State::Down,
                diagnostic: Diagnostic::None,
                detect_mult: 0,
                desired_min_tx: Duration::ZERO,
                // §6.8.1: initialised to 1 (microsecond).
                required_min_rx: Duration::from_micros(1),
                required_min_echo_rx: Duration::ZERO,
                demand: false,
            },
            tx_in_force: Duration::ZERO,
            rx_in_force: Duration::ZERO,
            polling: false,
            next_tx: Some(now),
            detect_at: None,
            rng: seed | 1,
        };
        session.tx_in_force = session.advertised_tx();
        session.rx_in_force = session.advertised_rx();
        session
    }

    /// Our discriminator.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discriminator
    }

    /// `bfd.SessionState`.
    pub fn state(&self) -> State {
        self.state
    }

    /// `bfd.LocalDiag`.
    pub fn local_diagnostic(&self) -> Diagnostic {
        self.local_diagnostic
    }

    /// What we know of the peer.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Whether a Poll Sequence is under way.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The Desired Min TX Interval we advertise: the configured one, but at least 1 s while
    /// not Up (§6.8.3).
    pub fn advertised_tx(&self) -> Duration {
        if self.state == State::Up {
            self.config.timers.desired_min_tx
        } else {
            self.config.timers.desired_min_tx.max(SLOW_TX)
        }
    }

    /// The Required Min RX Interval we advertise.
    pub fn advertised_rx(&self) -> Duration {
        self.config.timers.required_min_rx
    }

    /// The interval between our periodic packets, before jitter (§6.8.2).
    pub fn tx_interval(&self) -> Duration {
        self.tx_in_force.max(self.remote.required_min_rx)
    }

    /// How long the peer may stay silent before the session goes down (§6.8.4); zero until
    /// the peer has been heard.
    pub fn detection_time(&self) -> Duration {
        self.rx_in_force.max(self.remote.desired_min_tx) * u32::from(self.remote.detect_mult)
    }

    /// The earliest timer deadline (the next packet or the detection timeout).
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.next_tx, self.detect_at].into_iter().flatten().min()
    }

    /// When the detection timer fires, if it runs.
    pub fn detection_deadline(&self) -> Option<Instant> {
        self.detect_at
    }

    /// Handles a packet for this session (its stateless checks passed, §6.8.6).
    pub fn receive(&mut self, packet: &ControlPacket, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let old_interval = self.tx_interval();
        self.remote = Remote {
            discriminator: packet.my_discriminator,
            state: packet.state,
            diagnostic: packet.diagnostic,
            detect_mult: packet.detect_mult,
            desired_min_tx: packet.desired_min_tx_interval(),
            required_min_rx: packet.required_min_rx_interval(),
            required_min_echo_rx: Duration::from_micros(u64::from(packet.required_min_echo_rx)),
            demand: packet.demand,
        };
        if packet.final_ && self.polling {
            self.polling = false;
            self.tx_in_force = self.advertised_tx();
            self.rx_in_force = self.advertised_rx();
        }
        self.reschedule_tx(old_interval, now);
        if self.state == State::AdminDown {
            return actions;
        }
        if packet.state == State::AdminDown {
            if self.state != State::Down {
                self.set_state(
                    State::Down,
                    Diagnostic::NeighborSignaledDown,
                    now,
                    &mut actions,
                );
            }
        } else {
            match (self.state, packet.state) {
                (State::Down, State::Down) => {
                    self.set_state(State::Init, Diagnostic::None, now, &mut actions)
                }
                (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                    self.set_state(State::Up, Diagnostic::None, now, &mut actions)
                }
                (State::Up, State::Down) => self.set_state(
                    State::Down,
                    Diagnostic::NeighborSignaledDown,
                    now,
                    &mut actions,
                ),
                _ => {}
            }
        }
        // The packet counts for the detection time (§6.8.4), computed with its values.
        self.detect_at = Some(now + self.detection_time());
        if packet.poll {
            let mut answer = self.packet();
            answer.final_ = true;
            answer.poll = false;
            actions.push(Action::Send(answer));
        }
        actions
    }

    /// Fires the timers due at `now`: the detection timeout, then the periodic packet.
    pub fn poll_timers(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.detect_at.is_some_and(|at| at <= now) {
            self.detect_at = None;
            // §6.8.1: the peer's discriminator is forgotten when the detection timer expires.
            self.remote.discriminator = 0;
            self.remote.state = State::Down;
            if matches!(self.state, State::Init | State::Up) {
                self.set_state(
                    State::Down,
                    Diagnostic::ControlDetectionTimeExpired,
                    now,
                    &mut actions,
                );
            }
        }
        if self.next_tx.is_some_and(|at| at <= now) {
            if self.may_send_periodic() {
                actions.push(Action::Send(self.packet()));
            }
            self.next_tx = Some(now + self.jittered(self.tx_interval()));
        }
        actions
    }

    /// Applies a new configuration: timers (a Poll Sequence while Up), passive role, and
    /// AdminDown (§6.8.16) in either direction.
    pub fn set_config(&mut self, config: SessionConfig, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let old = self.config;
        self.config = config;
        if config.admin_down && self.state != State::AdminDown {
            self.detect_at = None;
            self.set_state(
                State::AdminDown,
                Diagnostic::AdministrativelyDown,
                now,
                &mut actions,
            );
            return actions;
        }
        if !config.admin_down && self.state == State::AdminDown {
            self.set_state(State::Down, Diagnostic::None, now, &mut actions);
            return actions;
        }
        if old.timers != config.timers {
            self.parameters_changed(now, &mut actions);
        }
        actions
    }

    /// The packet we would send now (without Final).
    pub fn packet(&self) -> ControlPacket {
        ControlPacket {
            diagnostic: self.local_diagnostic,
            state: self.state,
            poll: self.polling,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.config.timers.detect_mult,
            my_discriminator: self.local_discriminator,
            your_discriminator: self.remote.discriminator,
            desired_min_tx: micros(self.advertised_tx()),
            required_min_rx: micros(self.advertised_rx()),
            required_min_echo_rx: 0,
        }
    }

    /// Whether the periodic packet may go (§6.8.7).
    fn may_send_periodic(&self) -> bool {
        if self.config.passive && self.remote.discriminator == 0 {
            return false;
        }
        if self.remote.required_min_rx.is_zero() {
            return false;
        }
        // The peer in Demand mode with both ends Up asks for silence.
        !(self.remote.demand && self.state == State::Up && self.remote.state == State::Up)
    }

    /// Whether an unscheduled packet (state change, Poll) may go: not from a passive end that
    /// has not heard its peer.
    fn may_send_now(&self) -> bool {
        !(self.config.passive && self.remote.discriminator == 0)
    }

    fn set_state(
        &mut self,
        to: State,
        diagnostic: Diagnostic,
        now: Instant,
        actions: &mut Vec<Action>,
    ) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diagnostic = diagnostic;
        actions.push(Action::StateChange(Transition {
            from,
            to,
            local_diagnostic: diagnostic,
            remote_diagnostic: self.remote.diagnostic,
        }));
        if to == State::Up || from == State::Up {
            // The advertised TX changes between the configured value and the 1 s floor.
            self.parameters_changed(now, actions);
        }
        if !self.polling && self.may_send_now() {
            actions.push(Action::Send(self.packet()));
        }
    }

    /// Our advertised intervals changed: outside Up they apply at once; in Up a Poll
    /// Sequence starts and only the safe direction applies before its Final (§6.8.3).
    fn parameters_changed(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let old_interval = self.tx_interval();
        if self.state == State::Up {
            self.tx_in_force = self.tx_in_force.min(self.advertised_tx());
            self.rx_in_force = self.rx_in_force.max(self.advertised_rx());
            self.polling = true;
            if self.may_send_now() {
                actions.push(Action::Send(self.packet()));
            }
        } else {
            self.polling = false;
            self.tx_in_force = self.advertised_tx();
            self.rx_in_force = self.advertised_rx();
        }
        self.reschedule_tx(old_interval, now);
    }

    /// When the TX interval shrank, the next packet comes no later than a new interval from
    /// now; a longer one applies from the next packet on.
    fn reschedule_tx(&mut self, old_interval: Duration, now: Instant) {
        let interval = self.tx_interval();
        if interval < old_interval {
            let sooner = now + self.jittered(interval);
            self.next_tx = Some(self.next_tx.map_or(sooner, |at| at.min(sooner)));
        }
    }

    /// `interval` less a random 0–25 % (10–25 % with a multiplier of 1), §6.8.7.
    fn jittered(&mut self, interval: Duration) -> Duration {
        // xorshift64*: statistically fine for jitter, deterministic for tests.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        let (least, span) = if self.config.timers.detect_mult == 1 {
            (75u64, 15u64)
        } else {
            (75, 25)
        };
        // Percent of the interval in [least, least + span), in 1/1024 steps.
        let scaled = least * 1024 + (random % (span * 1024));
        let micros = interval.as_micros().min(u128::from(u64::MAX)) as u64;
        Duration::from_micros(micros.saturating_mul(scaled) / (100 * 1024))
    }
}

/// A duration in whole microseconds for the wire, saturating.
fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
