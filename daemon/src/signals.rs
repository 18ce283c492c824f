//! How a daemon learns it must stop: SIGTERM (Kubernetes stopping the pod) or SIGINT (a
//! user's Ctrl-C).

/// Completes on SIGTERM or SIGINT. If the handlers cannot be installed it says so and never
/// completes (the daemon then stops only with SIGKILL).
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!(
            op = "startup",
            "cannot install signal handlers; stop with SIGKILL"
        );
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
