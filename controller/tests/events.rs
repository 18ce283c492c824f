//! The Event publisher against a real kube-apiserver: Events as kube's Recorder wrote them,
//! a repeat folded into the first Event's series, a different note a new Event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, ListParams};
use kube::runtime::events::{Event, EventType, Reporter};
use lb_daemon::events::Publisher;
use serde_json::json;
use support::Lab;

fn allocated(note: &str) -> Event {
    Event {
        type_: EventType::Normal,
        reason: "IPAllocated".into(),
        note: Some(note.into()),
        action: "IPAllocated".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn a_repeat_is_counted_in_the_series_of_the_first_event_and_a_new_note_is_a_new_event() {
    let lab = Lab::start().await;
    let svc = lab
        .create_service("default", json!({"metadata": {"name": "nginx"}}))
        .await;
    let regarding = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        namespace: Some("default".into()),
        name: Some("nginx".into()),
        uid: svc.metadata.uid.clone(),
        ..Default::default()
    };
    let publisher = Publisher::new(
        lab.client.clone(),
        Reporter {
            controller: "metallb-controller".into(),
            instance: Some("controller-0".into()),
        },
    );
    let first = allocated(r#"Assigned IP ["198.51.100.0"]"#);
    for _ in 0..3 {
        publisher.publish(&first, &regarding).await.unwrap();
    }
    publisher
        .publish(&allocated(r#"Assigned IP ["198.51.100.1"]"#), &regarding)
        .await
        .unwrap();

    let events: Vec<K8sEvent> = Api::namespaced(lab.client.clone(), "default")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 2, "{events:#?}");
    let repeated = events
        .iter()
        .find(|e| e.note.as_deref() == first.note.as_deref())
        .unwrap();
    assert_eq!(repeated.series.as_ref().map(|s| s.count), Some(3));
    assert_eq!(
        repeated.reporting_controller.as_deref(),
        Some("metallb-controller")
    );
    assert_eq!(repeated.reporting_instance.as_deref(), Some("controller-0"));
    assert_eq!(repeated.type_.as_deref(), Some("Normal"));
    assert_eq!(
        repeated.regarding.as_ref().and_then(|r| r.uid.clone()),
        svc.metadata.uid
    );
    let other = events
        .iter()
        .find(|e| e.note.as_deref() != first.note.as_deref())
        .unwrap();
    assert!(other.series.is_none(), "{other:#?}");
}
