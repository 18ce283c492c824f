//! The memory of recent events: repeats within the TTL join a series, old or forgotten ones
//! start a new Event, and the memory stays within its capacity.

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn service(name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        namespace: Some("default".into()),
        name: Some(name.into()),
        uid: Some(format!("uid-{name}")),
        ..Default::default()
    }
}

fn allocated(note: &str) -> Event {
    Event {
        type_: EventType::Normal,
        reason: "IPAllocated".into(),
        note: Some(note.into()),
        action: "IPAllocated".into(),
        secondary: None,
    }
}

#[test]
fn a_repeat_within_the_ttl_is_the_next_count_of_the_same_event() {
    let mut recent = Recent::new(16, RECENT_TTL);
    assert_eq!(recent.observe(1, at(0)), Seen::New);
    recent.record(1, "default", "nginx.1", 1, at(0));
    let repeat = Seen::Repeat {
        namespace: "default".into(),
        name: "nginx.1".into(),
        count: 2,
    };
    assert_eq!(recent.observe(1, at(359)), repeat);
    recent.record(1, "default", "nginx.1", 2, at(359));
    // The TTL runs from the last occurrence.
    assert!(matches!(
        recent.observe(1, at(700)),
        Seen::Repeat { count: 3, .. }
    ));
}

#[test]
fn an_event_older_than_the_ttl_starts_a_new_event() {
    let mut recent = Recent::new(16, RECENT_TTL);
    recent.record(1, "default", "nginx.1", 4, at(0));
    assert_eq!(recent.observe(1, at(360)), Seen::New);
}

#[test]
fn the_memory_never_exceeds_its_capacity_and_forgets_the_oldest_first() {
    let mut recent = Recent::new(8, RECENT_TTL);
    for key in 0..100u64 {
        let second = i64::try_from(key).unwrap_or(0);
        recent.record(key, "default", "e", 1, at(second));
        assert!(recent.len() <= 8, "{} entries after {key}", recent.len());
    }
    assert!(matches!(recent.observe(99, at(100)), Seen::Repeat { .. }));
    assert_eq!(recent.observe(0, at(100)), Seen::New);
}

#[test]
fn when_full_expired_events_go_before_recent_ones() {
    let mut recent = Recent::new(4, RECENT_TTL);
    recent.record(1, "default", "old", 1, at(0));
    for key in 2..=4 {
        recent.record(key, "default", "fresh", 1, at(400));
    }
    recent.record(5, "default", "new", 1, at(401));
    assert_eq!(recent.len(), 4);
    for key in 2..=5 {
        assert!(
            matches!(recent.observe(key, at(402)), Seen::Repeat { .. }),
            "{key}"
        );
    }
}

#[test]
fn events_differing_in_note_object_or_type_are_different_events() {
    let base = event_key(
        &allocated("Assigned IP [\"198.51.100.0\"]"),
        &service("nginx"),
    );
    assert_eq!(
        base,
        event_key(
            &allocated("Assigned IP [\"198.51.100.0\"]"),
            &service("nginx")
        )
    );
    assert_ne!(
        base,
        event_key(
            &allocated("Assigned IP [\"198.51.100.1\"]"),
            &service("nginx")
        )
    );
    assert_ne!(
        base,
        event_key(
            &allocated("Assigned IP [\"198.51.100.0\"]"),
            &service("other")
        )
    );
    let mut warning = allocated("Assigned IP [\"198.51.100.0\"]");
    warning.type_ = EventType::Warning;
    assert_ne!(base, event_key(&warning, &service("nginx")));
}
