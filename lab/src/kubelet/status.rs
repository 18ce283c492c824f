//! A pod's status as the kubelet writes it, from what the lab knows of each container:
//! phase, conditions (with their transition times kept while they hold), addresses, and the
//! container statuses `kubectl get pods` turns into READY, STATUS and RESTARTS (`Running`,
//! `CrashLoopBackOff`, `Error`, `ErrImagePull`, …). Pure: the caller passes the clock.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::PodCondition;
use serde_json::{Value, json};

/// How a run of a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    /// The exit code (128 + the signal for a killed process, as runtimes report it).
    pub exit_code: i32,
    /// `Completed` for exit code 0, else `Error`.
    pub reason: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub finished_at: String,
    /// The id of the process that ran.
    pub container_id: String,
}

impl Termination {
    /// The reason runtimes give for `exit_code`.
    pub fn reason_for(exit_code: i32) -> &'static str {
        if exit_code == 0 { "Completed" } else { "Error" }
    }
}

/// A container's state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not running, and why (`ContainerCreating`, `CrashLoopBackOff`, `ErrImagePull`, …).
    Waiting {
        /// The reason.
        reason: String,
        /// More about it, if anything.
        message: Option<String>,
    },
    /// Running since `started_at`.
    Running {
        /// When it started (RFC 3339).
        started_at: String,
        /// Its process id, which is its container id.
        container_id: String,
    },
    /// Ended and not to be restarted (yet).
    Terminated(Termination),
}

/// What the lab knows about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// Its name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// How often it was restarted.
    pub restart_count: i32,
    /// Now.
    pub state: State,
    /// How the run before this one ended.
    pub last: Option<Termination>,
    /// Whether its readiness probe (or, without one, its running) says it is ready.
    pub ready: bool,
}

impl ContainerRecord {
    /// A container not started yet.
    pub fn creating(name: &str, image: &str) -> ContainerRecord {
        ContainerRecord {
            name: name.to_owned(),
            image: image.to_owned(),
            restart_count: 0,
            state: State::Waiting {
                reason: "ContainerCreating".to_owned(),
                message: None,
            },
            last: None,
            ready: false,
        }
    }
}

/// The addresses and times of a pod.
#[derive(Debug, Clone)]
pub struct PodFacts {
    /// The node's address.
    pub host_ip: IpAddr,
    /// The pod's address (the node's for hostNetwork pods), once it has one.
    pub pod_ip: Option<IpAddr>,
    /// When the kubelet took the pod (RFC 3339).
    pub start_time: String,
    /// Whether the pod's restart policy restarts containers that exit (Always, OnFailure
    /// after a failure): then the pod stays Running while a container waits to restart.
    pub restarts: bool,
}

fn termination_json(t: &Termination) -> Value {
    json!({
        "terminated": {
            "exitCode": t.exit_code,
            "reason": t.reason,
            "startedAt": t.started_at,
            "finishedAt": t.finished_at,
            "containerID": t.container_id,
        }
    })
}

fn container_json(c: &ContainerRecord) -> Value {
    let (state, container_id, started) = match &c.state {
        State::Waiting { reason, message } => {
            let mut w = json!({"reason": reason});
            if let Some(m) = message {
                w["message"] = json!(m);
            }
            (json!({"waiting": w}), None, false)
        }
        State::Running {
            started_at,
            container_id,
        } => (
            json!({"running": {"startedAt": started_at}}),
            Some(container_id.clone()),
            true,
        ),
        State::Terminated(t) => (termination_json(t), Some(t.container_id.clone()), false),
    };
    let mut out = json!({
        "name": c.name,
        "image": c.image,
        "imageID": "",
        "ready": c.ready && started,
        "started": started,
        "restartCount": c.restart_count,
        "state": state,
        "lastState": c.last.as_ref().map_or_else(|| json!({}), termination_json),
    });
    if let Some(id) = container_id.or_else(|| c.last.as_ref().map(|l| l.container_id.clone())) {
        out["containerID"] = json!(id);
    }
    out
}

/// A condition, keeping the transition time of `previous` when its status is unchanged.
fn condition(
    previous: &[PodCondition],
    kind: &str,
    ok: bool,
    reason: Option<String>,
    message: Option<String>,
    now: &str,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let since = previous
        .iter()
        .find(|c| c.type_ == kind && c.status == status)
        .and_then(|c| c.last_transition_time.as_ref())
        .map_or_else(|| now.to_owned(), |t| t.0.to_string());
    let mut out = json!({"type": kind, "status": status, "lastTransitionTime": since});
    if let Some(r) = reason {
        out["reason"] = json!(r);
    }
    if let Some(m) = message {
        out["message"] = json!(m);
    }
    out
}

/// The pod's whole `status`, for a merge patch of the status subresource.
pub fn pod_status(
    facts: &PodFacts,
    containers: &[ContainerRecord],
    previous: &[PodCondition],
    now: &str,
) -> Value {
    let running = containers
        .iter()
        .any(|c| matches!(c.state, State::Running { .. }));
    let all_ready = !containers.is_empty()
        && containers
            .iter()
            .all(|c| c.ready && matches!(c.state, State::Running { .. }));
    let ever_started = containers.iter().any(|c| {
        c.restart_count > 0 || c.last.is_some() || !matches!(c.state, State::Waiting { .. })
    });
    let all_terminated = !containers.is_empty()
        && containers
            .iter()
            .all(|c| matches!(c.state, State::Terminated(_)));
    let phase = if all_terminated && !facts.restarts {
        let failed = containers
            .iter()
            .any(|c| matches!(&c.state, State::Terminated(t) if t.exit_code != 0));
        if failed { "Failed" } else { "Succeeded" }
    } else if running || (ever_started && facts.restarts) {
        "Running"
    } else {
        "Pending"
    };
    let unready: Vec<&str> = containers
        .iter()
        .filter(|c| !(c.ready && matches!(c.state, State::Running { .. })))
        .map(|c| c.name.as_str())
        .collect();
    let (reason, message) = if all_ready {
        (None, None)
    } else {
        (
            Some("ContainersNotReady".to_owned()),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    let mut conditions = vec![
        condition(
            previous,
            "PodReadyToStartContainers",
            facts.pod_ip.is_some(),
            None,
            None,
            now,
        ),
        condition(previous, "Initialized", true, None, None, now),
        condition(
            previous,
            "Ready",
            all_ready,
            reason.clone(),
            message.clone(),
            now,
        ),
        condition(previous, "ContainersReady", all_ready, reason, message, now),
    ];
    // The scheduler's condition stays as it wrote it.
    if let Some(scheduled) = previous.iter().find(|c| c.type_ == "PodScheduled") {
        conditions.push(serde_json::to_value(scheduled).unwrap_or_default());
    }
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": facts.host_ip.to_string(),
        "hostIPs": [{"ip": facts.host_ip.to_string()}],
        "startTime": facts.start_time,
        "containerStatuses": containers.iter().map(container_json).collect::<Vec<_>>(),
    });
    if let Some(ip) = facts.pod_ip {
        status["podIP"] = json!(ip.to_string());
        status["podIPs"] = json!([{"ip": ip.to_string()}]);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-12-04T20:00:10Z";

    fn facts() -> PodFacts {
        PodFacts {
            host_ip: "10.192.0.3".parse().unwrap_or_else(|e| panic!("{e}")),
            pod_ip: Some("10.192.0.3".parse().unwrap_or_else(|e| panic!("{e}"))),
            start_time: "2026-12-04T20:00:00Z".into(),
            restarts: true,
        }
    }

    fn running(ready: bool) -> ContainerRecord {
        ContainerRecord {
            state: State::Running {
                started_at: "2026-12-04T20:00:01Z".into(),
                container_id: "lab://1234".into(),
            },
            ready,
            ..ContainerRecord::creating("speaker", "ferrolb/speaker:v0.1.0")
        }
    }

    fn exited(code: i32) -> Termination {
        Termination {
            exit_code: code,
            reason: Termination::reason_for(code).into(),
            started_at: "2026-12-04T20:00:01Z".into(),
            finished_at: "2026-12-04T20:00:02Z".into(),
            container_id: "lab://1234".into(),
        }
    }

    fn condition_of(status: &Value, kind: &str) -> Value {
        status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == kind).cloned())
            .unwrap_or_default()
    }

    #[test]
    fn a_ready_running_container_makes_a_ready_running_pod() {
        let s = pod_status(&facts(), &[running(true)], &[], NOW);
        assert_eq!(s["phase"], "Running");
        assert_eq!(condition_of(&s, "Ready")["status"], "True");
        assert_eq!(s["containerStatuses"][0]["ready"], true);
        assert_eq!(
            s["containerStatuses"][0]["state"]["running"]["startedAt"],
            "2026-12-04T20:00:01Z"
        );
        assert_eq!(s["containerStatuses"][0]["containerID"], "lab://1234");
        assert_eq!(s["podIP"], "10.192.0.3");
        assert_eq!(s["hostIPs"], json!([{"ip": "10.192.0.3"}]));
    }

    #[test]
    fn running_but_not_ready_names_the_container() {
        let s = pod_status(&facts(), &[running(false)], &[], NOW);
        let ready = condition_of(&s, "Ready");
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["reason"], "ContainersNotReady");
        assert_eq!(
            ready["message"],
            "containers with unready status: [speaker]"
        );
        assert_eq!(s["containerStatuses"][0]["started"], true);
    }

    #[test]
    fn crash_loop_back_off_keeps_the_pod_running_with_the_last_exit() {
        let c = ContainerRecord {
            restart_count: 3,
            state: State::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: Some("back-off 40s restarting failed container=speaker pod=speaker-x_metallb-system(u)".into()),
            },
            last: Some(exited(1)),
            ..running(false)
        };
        let s = pod_status(&facts(), &[c], &[], NOW);
        assert_eq!(s["phase"], "Running");
        let cs = &s["containerStatuses"][0];
        assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(cs["restartCount"], 3);
        assert_eq!(cs["ready"], false);
        assert_eq!(cs["containerID"], "lab://1234");
    }

    #[test]
    fn phases_before_start_and_after_the_end_without_restarts() {
        let waiting = ContainerRecord::creating("c", "i");
        let mut f = facts();
        f.pod_ip = None;
        let s = pod_status(&f, &[waiting], &[], NOW);
        assert_eq!(s["phase"], "Pending");
        assert!(s.get("podIP").is_none());
        assert_eq!(
            condition_of(&s, "PodReadyToStartContainers")["status"],
            "False"
        );
        let mut never = facts();
        never.restarts = false;
        let done = ContainerRecord {
            state: State::Terminated(exited(0)),
            ..running(false)
        };
        assert_eq!(
            pod_status(&never, std::slice::from_ref(&done), &[], NOW)["phase"],
            "Succeeded"
        );
        let failed = ContainerRecord {
            state: State::Terminated(exited(2)),
            ..done
        };
        assert_eq!(pod_status(&never, &[failed], &[], NOW)["phase"], "Failed");
    }

    #[test]
    fn transition_times_hold_while_a_condition_does_and_the_schedulers_stays() {
        let previous: Vec<PodCondition> = serde_json::from_value(json!([
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-04T20:00:05Z"},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-04T19:59:59Z"},
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let s = pod_status(&facts(), &[running(true)], &previous, NOW);
        assert_eq!(
            condition_of(&s, "Ready")["lastTransitionTime"],
            "2026-12-04T20:00:05Z"
        );
        assert_eq!(
            condition_of(&s, "ContainersReady")["lastTransitionTime"],
            NOW
        );
        assert_eq!(
            condition_of(&s, "PodScheduled")["lastTransitionTime"],
            "2026-12-04T19:59:59Z"
        );
        let s = pod_status(&facts(), &[running(false)], &previous, NOW);
        assert_eq!(condition_of(&s, "Ready")["lastTransitionTime"], NOW);
    }
}
