//! Events through the whole layer into a buffer, parsed back as JSON.

use std::io;

use serde_json::{Value, json as j};

use super::capture::{capture, capture_text};
use super::{LogLevel, json};

#[test]
fn events_are_metallb_json_lines_with_sorted_keys() {
    let ips = ["198.51.100.0"];
    let (first, second) = (line!() + 2, line!() + 8);
    let out = capture_text(LogLevel::Info, || {
        tracing::info!(
            event = "ipAllocated",
            ip = json(&ips).as_field(),
            service = "default/nginx",
            "IP address assigned by controller"
        );
        tracing::warn!(
            op = "allocateIP",
            error = "no available IPs",
            "IP allocation failed"
        );
    });
    let expected = format!(
        "{{\"caller\":\"tests.rs:{first}\",\"event\":\"ipAllocated\",\"ip\":[\"198.51.100.0\"],\
         \"level\":\"info\",\"msg\":\"IP address assigned by controller\",\
         \"service\":\"default/nginx\",\"ts\":\"2026-12-04T18:00:00Z\"}}\n\
         {{\"caller\":\"tests.rs:{second}\",\"error\":\"no available IPs\",\"level\":\"warn\",\
         \"msg\":\"IP allocation failed\",\"op\":\"allocateIP\",\"ts\":\"2026-12-04T18:00:00Z\"}}\n"
    );
    assert_eq!(out, expected);
}

#[test]
fn field_values_keep_their_json_types() {
    #[derive(Debug)]
    struct Peer;
    let err = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
    let got = capture(LogLevel::Info, || {
        tracing::info!(
            event = "sessionUp",
            localASN = 64512u32,
            peerASN = 64513i64,
            up = true,
            ratio = 0.5,
            nan = f64::NAN,
            big = u128::MAX,
            peer = %"10.192.0.1:179",
            debugged = ?Peer,
            error = &err as &(dyn std::error::Error + 'static),
            "BGP session established"
        );
    });
    assert_eq!(got.len(), 1, "{got:?}");
    let line = &got[0];
    assert_eq!(line["localASN"], j!(64512));
    assert_eq!(line["peerASN"], j!(64513));
    assert_eq!(line["up"], j!(true));
    assert_eq!(line["ratio"], j!(0.5));
    assert_eq!(line["nan"], j!("NaN"));
    assert_eq!(line["big"], j!(u128::MAX.to_string()));
    assert_eq!(line["peer"], j!("10.192.0.1:179"));
    assert_eq!(line["debugged"], j!("Peer"));
    assert_eq!(line["error"], j!("connection refused"));
    assert_eq!(line["msg"], j!("BGP session established"));
}

#[test]
fn span_fields_are_context_and_the_event_overrides_them() {
    let got = capture(LogLevel::Info, || {
        let outer = tracing::info_span!("reconcile", service = "default/nginx", op = "outer");
        let _o = outer.enter();
        let inner =
            tracing::info_span!("allocate", op = "allocateIP", pool = tracing::field::Empty);
        inner.record("pool", "default");
        let _i = inner.enter();
        tracing::info!(event = "ipAllocated", "done");
        tracing::info!(service = "other/svc", "overridden");
    });
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["service"], j!("default/nginx"));
    assert_eq!(got[0]["op"], j!("allocateIP"));
    assert_eq!(got[0]["pool"], j!("default"));
    assert_eq!(got[0]["event"], j!("ipAllocated"));
    assert_eq!(got[1]["service"], j!("other/svc"));
}

#[test]
fn level_filter_drops_what_metallb_drops() {
    let emit = || {
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    };
    let msgs = |level| -> Vec<Value> {
        capture(level, emit)
            .iter()
            .map(|l| l["msg"].clone())
            .collect()
    };
    assert_eq!(msgs(LogLevel::Info), [j!("i"), j!("w"), j!("e")]);
    assert_eq!(msgs(LogLevel::Error), [j!("e")]);
    assert_eq!(msgs(LogLevel::None), Vec::<Value>::new());
    let all = capture(LogLevel::All, emit);
    assert_eq!(all.len(), 5);
    assert_eq!(
        all[0]["level"],
        j!("debug"),
        "trace is printed as go-kit's debug"
    );
}

#[test]
fn log_crate_records_get_their_own_caller_and_no_log_fields() {
    let got = capture(LogLevel::Info, || {
        let record = log::Record::builder()
            .args(format_args!("handshake done"))
            .level(log::Level::Info)
            .target("rustls::client")
            .file(Some("/registry/rustls/src/client/hs.rs"))
            .line(Some(77))
            .module_path(Some("rustls::client::hs"))
            .build();
        if let Err(e) = tracing_log::format_trace(&record) {
            panic!("bridging a log record: {e}");
        }
    });
    assert_eq!(
        got,
        [j!({
            "caller": "hs.rs:77",
            "level": "info",
            "msg": "handshake done",
            "ts": "2026-12-04T18:00:00Z",
        })]
    );
}
