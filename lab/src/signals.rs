//! The end of the lab's long-running agents (kubelet, kube-proxy stand-in): SIGTERM from
//! `lab down`, or SIGINT from a terminal.

/// Completes on SIGTERM or SIGINT (never, if the handlers cannot be installed).
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
