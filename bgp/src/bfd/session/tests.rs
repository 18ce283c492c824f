//! Tables for the session machine: every transition of RFC 5880 §6.2 and §6.8.6, the timer
//! negotiation of §6.8.2–§6.8.4, Poll/Final (§6.5), jitter (§6.8.7) and the passive role.

use super::*;

const LOCAL: u32 = 0x1001;
const REMOTE: u32 = 0x2002;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A packet from the peer in `state`, knowing our discriminator, with FRR's default timers.
fn from_peer(state: State) -> ControlPacket {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: REMOTE,
        your_discriminator: if state == State::Down { 0 } else { LOCAL },
        desired_min_tx: 300_000,
        required_min_rx: 300_000,
        required_min_echo_rx: 0,
    }
}

fn config() -> SessionConfig {
    SessionConfig::default()
}

/// A session brought to `state` by the peer's packets (or the operator for AdminDown),
/// with the time it got there.
fn session_in(state: State) -> (Session, Instant) {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, config(), 7, t0);
    match state {
        State::Down => {}
        State::Init => {
            s.receive(&from_peer(State::Down), t0);
        }
        State::Up => {
            s.receive(&from_peer(State::Init), t0);
        }
        State::AdminDown => {
            s.set_config(
                SessionConfig {
                    admin_down: true,
                    ..config()
                },
                t0,
            );
        }
    }
    assert_eq!(s.state(), state);
    (s, t0)
}

fn transitions(actions: &[Action]) -> Vec<(State, State, Diagnostic)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StateChange(t) => Some((t.from, t.to, t.local_diagnostic)),
            Action::Send(_) => None,
        })
        .collect()
}

fn sent(actions: &[Action]) -> Vec<ControlPacket> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(p) => Some(*p),
            Action::StateChange(_) => None,
        })
        .collect()
}

#[test]
fn every_received_state_in_every_local_state_moves_as_rfc_5880_6_8_6() {
    use Diagnostic::{NeighborSignaledDown as Signaled, None as NoDiag};
    use State::*;
    // (local state, received state, state after, diagnostic after)
    let table = [
        (Down, Down, Init, NoDiag),
        (Down, Init, Up, NoDiag),
        (Down, Up, Down, NoDiag),
        (Down, AdminDown, Down, NoDiag),
        (Init, Down, Init, NoDiag),
        (Init, Init, Up, NoDiag),
        (Init, Up, Up, NoDiag),
        (Init, AdminDown, Down, Signaled),
        (Up, Down, Down, Signaled),
        (Up, Init, Up, NoDiag),
        (Up, Up, Up, NoDiag),
        (Up, AdminDown, Down, Signaled),
        (AdminDown, Down, AdminDown, Diagnostic::AdministrativelyDown),
        (AdminDown, Init, AdminDown, Diagnostic::AdministrativelyDown),
        (AdminDown, Up, AdminDown, Diagnostic::AdministrativelyDown),
        (
            AdminDown,
            AdminDown,
            AdminDown,
            Diagnostic::AdministrativelyDown,
        ),
    ];
    for (local, received, after, diagnostic) in table {
        let (mut s, t0) = session_in(local);
        let actions = s.receive(&from_peer(received), t0 + ms(10));
        assert_eq!(s.state(), after, "{local} receiving {received}");
        assert_eq!(
            s.local_diagnostic(),
            diagnostic,
            "{local} receiving {received}"
        );
        let expected: Vec<_> = if after == local {
            Vec::new()
        } else {
            vec![(local, after, diagnostic)]
        };
        assert_eq!(
            transitions(&actions),
            expected,
            "{local} receiving {received}"
        );
        if after != local {
            // A state change is told to the peer at once.
            let packets = sent(&actions);
            assert!(
                packets.iter().any(|p| p.state == after),
                "{local} receiving {received}: {packets:?}"
            );
        }
    }
}

#[test]
fn detection_timeout_takes_init_and_up_down_with_diagnostic_1_and_forgets_the_peer() {
    for local in [State::Init, State::Up] {
        let (mut s, t0) = session_in(local);
        let deadline = s.detection_deadline().unwrap_or(t0);
        assert!(
            s.poll_timers(deadline - ms(1))
                .iter()
                .all(|a| matches!(a, Action::Send(_)))
        );
        assert_eq!(s.state(), local);
        let actions = s.poll_timers(deadline);
        assert_eq!(
            transitions(&actions),
            [(local, State::Down, Diagnostic::ControlDetectionTimeExpired)]
        );
        assert_eq!(s.remote().discriminator, 0);
        assert!(sent(&actions).iter().all(|p| p.your_discriminator == 0));
    }
    // Down has nothing to lose: it only forgets the discriminator.
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, config(), 7, t0);
    s.receive(&from_peer(State::AdminDown), t0);
    assert_eq!(s.remote().discriminator, REMOTE);
    let actions = s.poll_timers(t0 + s.detection_time());
    assert!(transitions(&actions).is_empty());
    assert_eq!(s.remote().discriminator, 0);
}

#[test]
fn operator_admin_down_from_every_state_and_back_to_down() {
    for local in [State::Down, State::Init, State::Up] {
        let (mut s, t0) = session_in(local);
        let down = SessionConfig {
            admin_down: true,
            ..config()
        };
        let actions = s.set_config(down, t0 + ms(5));
        assert_eq!(
            transitions(&actions),
            [(local, State::AdminDown, Diagnostic::AdministrativelyDown)]
        );
        assert!(sent(&actions).iter().any(
            |p| p.state == State::AdminDown && p.diagnostic == Diagnostic::AdministrativelyDown
        ));
        assert_eq!(s.detection_deadline(), None, "no detection in AdminDown");
        let actions = s.set_config(config(), t0 + ms(10));
        assert_eq!(
            transitions(&actions),
            [(State::AdminDown, State::Down, Diagnostic::None)]
        );
    }
}

#[test]
fn a_session_configured_admin_down_starts_in_admin_down() {
    let t0 = Instant::now();
    let s = Session::new(
        LOCAL,
        SessionConfig {
            admin_down: true,
            ..config()
        },
        7,
        t0,
    );
    assert_eq!(s.state(), State::AdminDown);
    assert_eq!(s.packet().diagnostic, Diagnostic::AdministrativelyDown);
}

#[test]
fn three_way_handshake_between_two_machines() {
    let t0 = Instant::now();
    let mut a = Session::new(LOCAL, config(), 1, t0);
    let mut b = Session::new(REMOTE, config(), 2, t0);
    // a's first packet: Down, your discriminator unknown.
    let first = sent(&a.poll_timers(t0));
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].state, first[0].your_discriminator),
        (State::Down, 0)
    );
    let reply = sent(&b.receive(&first[0], t0));
    assert_eq!(b.state(), State::Init);
    let init = reply.iter().find(|p| p.state == State::Init).copied();
    let init = init.unwrap_or_else(|| panic!("b says Init: {reply:?}"));
    assert_eq!(init.your_discriminator, LOCAL);
    let answer = sent(&a.receive(&init, t0));
    assert_eq!(a.state(), State::Up);
    for p in answer {
        b.receive(&p, t0);
    }
    assert_eq!(b.state(), State::Up);
}

#[test]
fn not_up_sends_at_most_once_a_second_whatever_is_configured() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, config(), 7, t0);
    assert_eq!(s.advertised_tx(), SLOW_TX);
    assert_eq!(s.packet().desired_min_tx, 1_000_000);
    assert_eq!(s.packet().required_min_rx, 300_000);
    assert_eq!(s.tx_interval(), SLOW_TX);
    s.poll_timers(t0);
    let next = s.next_deadline().unwrap_or(t0) - t0;
    assert!(next >= ms(750) && next <= SLOW_TX, "{next:?}");
}

#[test]
fn tx_interval_is_the_larger_of_ours_and_the_peers_required_rx() {
    let (mut s, t0) = session_in(State::Up);
    let mut slow_receiver = from_peer(State::Up);
    slow_receiver.required_min_rx = 500_000;
    slow_receiver.final_ = true;
    s.receive(&slow_receiver, t0);
    assert_eq!(s.tx_interval(), ms(500));
    let mut fast_receiver = slow_receiver;
    fast_receiver.required_min_rx = 50_000;
    s.receive(&fast_receiver, t0);
    assert_eq!(s.tx_interval(), ms(300));
}

#[test]
fn detection_time_is_the_peers_multiplier_times_the_agreed_interval() {
    let (mut s, t0) = session_in(State::Up);
    let mut p = from_peer(State::Up);
    p.final_ = true;
    // The peer sends every 200 ms but we take one only every 300 ms: 5 × 300 ms.
    p.detect_mult = 5;
    p.desired_min_tx = 200_000;
    s.receive(&p, t0);
    assert_eq!(s.detection_time(), ms(1500));
    assert_eq!(s.detection_deadline(), Some(t0 + ms(1500)));
    // The peer slower than we need: 2 × 800 ms.
    p.detect_mult = 2;
    p.desired_min_tx = 800_000;
    s.receive(&p, t0 + ms(100));
    assert_eq!(s.detection_time(), ms(1600));
    assert_eq!(s.detection_deadline(), Some(t0 + ms(1700)));
}

#[test]
fn coming_up_polls_for_the_configured_interval_and_final_ends_the_poll() {
    let t0 = Instant::now();
    let mut s = Session::new(LOCAL, config(), 7, t0);
    let actions = s.receive(&from_peer(State::Init), t0);
    assert_eq!(s.state(), State::Up);
    let packets = sent(&actions);
    assert!(
        packets.iter().all(|p| p.poll && p.state == State::Up),
        "{packets:?}"
    );
    assert_eq!(packets.first().map(|p| p.desired_min_tx), Some(300_000));
    assert!(s.polling());
    // A faster TX applies at once, during the poll.
    assert_eq!(s.tx_interval(), ms(300));
    // Periodic packets keep the P bit until the Final.
    let periodic = sent(&s.poll_timers(t0 + ms(300)));
    assert!(periodic.iter().all(|p| p.poll), "{periodic:?}");
    let mut fin = from_peer(State::Up);
    fin.final_ = true;
    s.receive(&fin, t0 + ms(310));
    assert!(!s.polling());
    let after = sent(&s.poll_timers(t0 + ms(700)));
    assert!(after.iter().all(|p| !p.poll), "{after:?}");
}

#[test]
fn a_slower_tx_while_up_waits_for_the_final() {
    let (mut s, t0) = session_in(State::Up);
    let mut fin = from_peer(State::Up);
    fin.final_ = true;
    s.receive(&fin, t0);
    let slower = SessionConfig {
        timers: Timers {
            desired_min_tx: ms(900),
            ..Timers::DEFAULT
        },
        ..config()
    };
    let actions = s.set_config(slower, t0 + ms(10));
    let packets = sent(&actions);
    assert_eq!(packets.len(), 1, "a Poll goes at once: {packets:?}");
    assert!(packets[0].poll);
    assert_eq!(
        packets[0].desired_min_tx, 900_000,
        "the new value is advertised"
    );
    assert_eq!(s.tx_interval(), ms(300), "but not used before the Final");
    s.receive(&fin, t0 + ms(20));
    assert_eq!(s.tx_interval(), ms(900));
}

#[test]
fn a_shorter_rx_while_up_keeps_the_old_detection_time_until_the_final() {
    let (mut s, t0) = session_in(State::Up);
    let mut fin = from_peer(State::Up);
    fin.final_ = true;
    fin.desired_min_tx = 100_000;
    s.receive(&fin, t0);
    assert_eq!(s.detection_time(), ms(900));
    let faster = SessionConfig {
        timers: Timers {
            required_min_rx: ms(100),
            ..Timers::DEFAULT
        },
        ..config()
    };
    s.set_config(faster, t0 + ms(10));
    assert!(s.polling());
    let mut not_final = fin;
    not_final.final_ = false;
    s.receive(&not_final, t0 + ms(20));
    assert_eq!(s.detection_time(), ms(900), "old RX until the Final");
    s.receive(&fin, t0 + ms(30));
    assert_eq!(s.detection_time(), ms(300), "3 × 100 ms after it");
    // A longer RX applies at once.
    let slower = SessionConfig {
        timers: Timers {
            required_min_rx: ms(400),
            ..Timers::DEFAULT
        },
        ..config()
    };
    s.set_config(slower, t0 + ms(40));
    assert_eq!(s.detection_time(), ms(1200));
}

#[test]
fn a_poll_from_the_peer_is_answered_at_once_with_final() {
    let (mut s, t0) = session_in(State::Up);
    let mut poll = from_peer(State::Up);
    poll.poll = true;
    poll.desired_min_tx = 50_000;
    let packets = sent(&s.receive(&poll, t0 + ms(1)));
    assert!(packets.iter().any(|p| p.final_ && !p.poll), "{packets:?}");
    // The peer's new TX takes effect for detection immediately.
    assert_eq!(s.detection_time(), ms(900));
}

#[test]
fn jitter_keeps_intervals_between_75_and_100_percent_or_90_with_multiplier_1() {
    for (mult, low, high) in [(3u8, 75u64, 100u64), (1, 75, 90)] {
        let t0 = Instant::now();
        let timers = Timers {
            detect_mult: mult,
            ..Timers::DEFAULT
        };
        let mut s = Session::new(LOCAL, SessionConfig { timers, ..config() }, 99, t0);
        s.receive(&from_peer(State::Init), t0);
        let mut fin = from_peer(State::Up);
        fin.final_ = true;
        s.receive(&fin, t0);
        let mut now = t0;
        let mut seen = Vec::new();
        for round in 0..200 {
            // Keep the peer alive so only TX deadlines fire.
            s.receive(&from_peer(State::Up), now);
            s.poll_timers(now);
            let next = s.next_deadline().unwrap_or(now);
            if round > 2 {
                seen.push(next - now);
            }
            now = next;
        }
        let min = seen.iter().min().copied().unwrap_or_default();
        let max = seen.iter().max().copied().unwrap_or_default();
        assert!(min >= ms(3 * low), "mult {mult}: {min:?}");
        assert!(max <= ms(3 * high), "mult {mult}: {max:?}");
        assert!(
            max - min > ms(20),
            "mult {mult}: jitter varies ({min:?}..{max:?})"
        );
    }
}

#[test]
fn passive_sends_nothing_until_the_peer_is_heard() {
    let t0 = Instant::now();
    let passive = SessionConfig {
        passive: true,
        ..config()
    };
    let mut s = Session::new(LOCAL, passive, 7, t0);
    for step in 0..5 {
        let at = t0 + ms(1000 * step);
        assert!(sent(&s.poll_timers(at)).is_empty());
    }
    let actions = s.receive(&from_peer(State::Down), t0 + ms(5000));
    assert_eq!(s.state(), State::Init);
    assert_eq!(sent(&actions).len(), 1, "answers once it knows the peer");
    let later = s.next_deadline().unwrap_or(t0);
    assert_eq!(sent(&s.poll_timers(later)).len(), 1);
}

#[test]
fn no_periodic_packets_to_a_peer_that_wants_none() {
    // Required Min RX zero: the peer takes no periodic packets (§6.8.7).
    let (mut s, t0) = session_in(State::Up);
    let mut silent = from_peer(State::Up);
    silent.required_min_rx = 0;
    silent.final_ = true;
    s.receive(&silent, t0);
    // Before the detection time (900 ms) ends, nothing is due.
    assert!(sent(&s.poll_timers(t0 + ms(800))).is_empty());
    // Demand mode with both ends Up: none either.
    let (mut s, t0) = session_in(State::Up);
    let mut demand = from_peer(State::Up);
    demand.demand = true;
    demand.final_ = true;
    s.receive(&demand, t0);
    assert!(sent(&s.poll_timers(t0 + ms(400))).is_empty());
}

#[test]
fn going_down_returns_to_the_one_second_floor() {
    let (mut s, t0) = session_in(State::Up);
    let actions = s.receive(&from_peer(State::Down), t0 + ms(10));
    let packets = sent(&actions);
    assert_eq!(packets.len(), 1);
    assert_eq!(packets[0].state, State::Down);
    assert_eq!(packets[0].desired_min_tx, 1_000_000);
    assert!(!packets[0].poll);
    assert!(!s.polling());
}
