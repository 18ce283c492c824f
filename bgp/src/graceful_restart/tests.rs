//! The helper's rules as tables: each case is a run of inputs at given seconds with the
//! action each must produce, then the state left (stale families and deadlines).

use super::*;
use crate::packet::Notification;

const V4: Family = Family::Ipv4Unicast;
const V6: Family = Family::Ipv6Unicast;
/// Our stale-path time in every case.
const STALE_PATH: u64 = 360;

/// A negotiated session in which the peer listed `families` (with their F bit) and
/// announced a restart time of 120 s.
fn session(families: &[(Family, bool)]) -> GracefulRestartSession {
    let peer = GracefulRestart {
        restart_state: false,
        notification: false,
        restart_time: 120,
        families: families
            .iter()
            .map(|(f, preserved)| GracefulRestartFamily {
                afi_safi: f.afi_safi(),
                forwarding_preserved: *preserved,
            })
            .collect(),
    };
    let local = GracefulRestart {
        families: vec![],
        ..peer.clone()
    };
    let carried: Vec<Family> = Family::ALL.to_vec();
    GracefulRestartSession::negotiate(Some(&local), Some(&peer), &carried).unwrap()
}

#[derive(Debug, Clone)]
enum Input {
    Down(DownReason, Option<GracefulRestartSession>),
    Up(Option<GracefulRestartSession>),
    EndOfRib(Family),
    Poll,
}

struct Case {
    name: &'static str,
    /// (second, input, expected action)
    steps: Vec<(u64, Input, Option<HelperAction>)>,
    /// Stale families, restart deadline and stale-path deadline (seconds) at the end.
    then: (Vec<Family>, Option<u64>, Option<u64>),
}

fn closed(s: &GracefulRestartSession) -> Input {
    Input::Down(DownReason::ConnectionClosed, Some(s.clone()))
}

fn cases() -> Vec<Case> {
    let both = session(&[(V4, true), (V6, true)]);
    let v4_only = session(&[(V4, true)]);
    let not_preserved = session(&[(V4, false), (V6, true)]);
    let helper_only = session(&[]);
    let retain_both = Some(HelperAction::Retain(vec![V4, V6]));
    vec![
        Case {
            name: "a TCP close keeps the listed families, restart and stale-path timers run",
            steps: vec![(10, closed(&both), retain_both.clone())],
            then: (vec![V4, V6], Some(130), Some(10 + STALE_PATH)),
        },
        Case {
            name: "only the families the peer listed are kept",
            steps: vec![(0, closed(&v4_only), Some(HelperAction::Retain(vec![V4])))],
            then: (vec![V4], Some(120), Some(STALE_PATH)),
        },
        Case {
            name: "a peer that lists no family (helper only) keeps nothing",
            steps: vec![(0, closed(&helper_only), Some(HelperAction::Flush))],
            then: (vec![], None, None),
        },
        Case {
            name: "without graceful restart negotiated nothing is kept",
            steps: vec![(
                0,
                Input::Down(DownReason::ConnectionClosed, None),
                Some(HelperAction::Flush),
            )],
            then: (vec![], None, None),
        },
        Case {
            name: "a NOTIFICATION received ends the session for good",
            steps: vec![(
                0,
                Input::Down(
                    DownReason::NotificationReceived(Notification::new(6, 2)),
                    Some(both.clone()),
                ),
                Some(HelperAction::Flush),
            )],
            then: (vec![], None, None),
        },
        Case {
            name: "hold timer expiry sends a NOTIFICATION: no restart (no N bit)",
            steps: vec![(
                0,
                Input::Down(DownReason::HoldTimerExpired, Some(both.clone())),
                Some(HelperAction::Flush),
            )],
            then: (vec![], None, None),
        },
        Case {
            name: "an administrative stop keeps nothing",
            steps: vec![(
                0,
                Input::Down(DownReason::AdminStop, Some(both.clone())),
                Some(HelperAction::Flush),
            )],
            then: (vec![], None, None),
        },
        Case {
            name: "the restart timer removes everything when the peer does not come back",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (119, Input::Poll, None),
                (120, Input::Poll, Some(HelperAction::Flush)),
            ],
            then: (vec![], None, None),
        },
        Case {
            name: "back in time: the restart timer stops, stale routes wait for End-of-RIB",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (30, Input::Up(Some(both.clone())), None),
                (200, Input::Poll, None),
            ],
            then: (vec![V4, V6], None, Some(STALE_PATH)),
        },
        Case {
            name: "each End-of-RIB removes its family's stale routes; the last stops the timer",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (30, Input::Up(Some(both.clone())), None),
                (31, Input::EndOfRib(V4), Some(HelperAction::Sweep(vec![V4]))),
                (31, Input::EndOfRib(V4), None),
                (32, Input::EndOfRib(V6), Some(HelperAction::Sweep(vec![V6]))),
            ],
            then: (vec![], None, None),
        },
        Case {
            name: "the stale-path timer removes what is still stale without End-of-RIB",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (30, Input::Up(Some(both.clone())), None),
                (31, Input::EndOfRib(V6), Some(HelperAction::Sweep(vec![V6]))),
                (STALE_PATH, Input::Poll, Some(HelperAction::Sweep(vec![V4]))),
            ],
            then: (vec![], None, None),
        },
        Case {
            name: "a family without the F bit in the new session loses its stale routes at once",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (
                    30,
                    Input::Up(Some(not_preserved.clone())),
                    Some(HelperAction::Sweep(vec![V4])),
                ),
            ],
            then: (vec![V6], None, Some(STALE_PATH)),
        },
        Case {
            name: "a family the new session does not list loses its stale routes at once",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (
                    30,
                    Input::Up(Some(v4_only.clone())),
                    Some(HelperAction::Sweep(vec![V6])),
                ),
            ],
            then: (vec![V4], None, Some(STALE_PATH)),
        },
        Case {
            name: "a new session without graceful restart removes every stale route",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (30, Input::Up(None), Some(HelperAction::Sweep(vec![V4, V6]))),
            ],
            then: (vec![], None, None),
        },
        Case {
            name: "going down again before End-of-RIB starts over with fresh timers",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (30, Input::Up(Some(both.clone())), None),
                (40, closed(&v4_only), Some(HelperAction::Retain(vec![V4]))),
            ],
            then: (vec![V4], Some(160), Some(40 + STALE_PATH)),
        },
        Case {
            name: "going down with a NOTIFICATION while routes are stale removes them all",
            steps: vec![
                (0, closed(&both), retain_both.clone()),
                (30, Input::Up(Some(both.clone())), None),
                (
                    40,
                    Input::Down(
                        DownReason::NotificationReceived(Notification::new(6, 4)),
                        Some(both.clone()),
                    ),
                    Some(HelperAction::Flush),
                ),
            ],
            then: (vec![], None, None),
        },
        Case {
            name: "an End-of-RIB with nothing stale does nothing",
            steps: vec![
                (0, Input::Up(Some(both.clone())), None),
                (1, Input::EndOfRib(V4), None),
            ],
            then: (vec![], None, None),
        },
    ]
}

#[test]
fn helper_rules() {
    let epoch = Instant::now();
    let at = |s: u64| epoch + Duration::from_secs(s);
    for case in cases() {
        let mut helper = Helper::new();
        for (second, input, want) in case.steps {
            let now = at(second);
            let got = match input.clone() {
                Input::Down(reason, session) => Some(helper.session_down(
                    &reason,
                    session.as_ref(),
                    Duration::from_secs(STALE_PATH),
                    now,
                )),
                Input::Up(session) => helper.session_up(session.as_ref()),
                Input::EndOfRib(family) => helper.end_of_rib(family),
                Input::Poll => helper.poll(now),
            };
            assert_eq!(got, want, "{}: {input:?} at {second} s", case.name);
        }
        let (stale, restart, stale_path) = case.then;
        assert_eq!(helper.stale_families(), &stale[..], "{}", case.name);
        assert_eq!(helper.restart_deadline(), restart.map(at), "{}", case.name);
        assert_eq!(helper.stale_deadline(), stale_path.map(at), "{}", case.name);
        assert_eq!(helper.retaining(), !stale.is_empty(), "{}", case.name);
        let next = [restart, stale_path].into_iter().flatten().min().map(at);
        assert_eq!(helper.next_deadline(), next, "{}", case.name);
    }
}

#[test]
fn negotiation_needs_both_capabilities_and_only_keeps_carried_families() {
    let peer = GracefulRestart {
        restart_state: true,
        notification: true,
        restart_time: 90,
        families: vec![
            GracefulRestartFamily {
                afi_safi: V4.afi_safi(),
                forwarding_preserved: true,
            },
            GracefulRestartFamily {
                afi_safi: V6.afi_safi(),
                forwarding_preserved: false,
            },
        ],
    };
    let local = match GracefulRestartConfig::RESTART.capability(&[V4, V6], false) {
        Capability::GracefulRestart(gr) => gr,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        GracefulRestartSession::negotiate(None, Some(&peer), &[V4]),
        None
    );
    assert_eq!(
        GracefulRestartSession::negotiate(Some(&local), None, &[V4]),
        None
    );
    // The session carries IPv4 only: the peer's IPv6 entry and ours do not count.
    let s = GracefulRestartSession::negotiate(Some(&local), Some(&peer), &[V4]).unwrap();
    assert_eq!(s.peer_families, vec![(V4, true)]);
    assert_eq!(s.local_families, vec![V4]);
    assert_eq!(s.peer_restart_time(), Duration::from_secs(90));
    assert!(s.peer_preserved(V4));
    assert!(!s.peer_preserved(V6));
}

#[test]
fn helper_mode_lists_no_family_and_restart_mode_every_one() {
    let helper = GracefulRestartConfig::HELPER.capability(&[V4, V6], true);
    assert_eq!(
        helper,
        Capability::GracefulRestart(GracefulRestart {
            restart_state: true,
            notification: false,
            restart_time: 120,
            families: vec![],
        })
    );
    let restart = GracefulRestartConfig {
        preserve_forwarding: true,
        restart_time: 90,
        ..GracefulRestartConfig::RESTART
    }
    .capability(&[V4], false);
    assert_eq!(
        restart,
        Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 90,
            families: vec![GracefulRestartFamily {
                afi_safi: V4.afi_safi(),
                forwarding_preserved: true,
            }],
        })
    );
}

#[test]
fn the_last_capability_of_an_open_counts() {
    let first = GracefulRestart {
        restart_state: false,
        notification: false,
        restart_time: 10,
        families: vec![],
    };
    let second = GracefulRestart {
        restart_time: 20,
        ..first.clone()
    };
    let caps = [
        Capability::GracefulRestart(first),
        Capability::RouteRefresh,
        Capability::GracefulRestart(second.clone()),
    ];
    assert_eq!(last_capability(&caps), Some(&second));
    assert_eq!(last_capability(&[Capability::RouteRefresh]), None);
}
