//! The control socket: how `mini-router -c 'show ip bgp'` talks to a running instance (as
//! `vtysh -c` talks to FRR's daemons).
//!
//! One request per connection, one JSON line each way: the client sends the command lines,
//! the server runs them in order in one fresh CLI session (so `configure terminal` followed
//! by `router bgp 64512` works as typed) and answers with the combined output and whether
//! every line succeeded. The socket file is created owner-only (0600): whoever can use it
//! can reconfigure the router.

use std::future::Future;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Longest request accepted, in bytes (a few thousand command lines).
const MAX_REQUEST: usize = 1 << 20;

/// Errors of the control socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket could not be created, reached or used.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Another instance answers on the socket already.
    #[error("control socket {0} is in use by a running mini-router")]
    InUse(PathBuf),
    /// The other end sent something that is not a valid request or reply.
    #[error("control socket {path}: malformed message: {reason}")]
    Protocol {
        /// The socket path.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// The result of running command lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Everything the commands printed, in order.
    pub output: String,
    /// Every line succeeded.
    pub ok: bool,
}

/// One CLI session on the server side: runs one line, returns its output and success.
pub trait Session {
    /// Runs `line` as if typed at the prompt.
    fn execute(&mut self, line: &str) -> impl Future<Output = (String, bool)> + Send;
}

/// The default socket path: `/run/mini-router.sock` for root, else in `$XDG_RUNTIME_DIR`
/// (or `/tmp`) with the user id in the name.
pub fn default_socket_path() -> PathBuf {
    let uid = current_uid();
    if uid == 0 {
        return PathBuf::from("/run/mini-router.sock");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) => Path::new(&dir).join("mini-router.sock"),
        None => PathBuf::from(format!("/tmp/mini-router-{uid}.sock")),
    }
}

/// The real user id, read from /proc (no libc call needed).
fn current_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next().map(str::to_owned))
        })
        .and_then(|uid| uid.parse().ok())
        .unwrap_or(u32::MAX)
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ControlError + '_ {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Binds the control socket. A stale socket file (nobody answers) is replaced; a live one
/// is an error, so two routers never fight over one socket.
pub async fn bind(path: &Path) -> Result<UnixListener, ControlError> {
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(ControlError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io_error(path))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(path))?;
    }
    let listener = UnixListener::bind(path).map_err(io_error(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_error(path))?;
    Ok(listener)
}

/// Serves requests forever: each connection gets a fresh session from `new_session`.
/// Connections are handled one after another, like commands typed at one console.
pub async fn serve<S: Session>(listener: UnixListener, mut new_session: impl FnMut() -> S) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let mut session = new_session();
        let _ = handle(stream, &mut session).await;
    }
}

async fn handle<S: Session>(stream: UnixStream, session: &mut S) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader.take(MAX_REQUEST as u64));
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let reply = match parse_request(&line) {
        Ok(commands) => {
            let mut output = String::new();
            let mut ok = true;
            for command in commands {
                let (text, success) = session.execute(&command).await;
                output.push_str(&text);
                ok &= success;
            }
            json!({ "output": output, "ok": ok })
        }
        Err(reason) => json!({ "output": format!("% {reason}\n"), "ok": false }),
    };
    writer.write_all(format!("{reply}\n").as_bytes()).await?;
    writer.shutdown().await
}

fn parse_request(line: &str) -> Result<Vec<String>, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("malformed request: {e}"))?;
    let commands = value
        .get("commands")
        .and_then(Value::as_array)
        .ok_or("malformed request: no \"commands\" array")?;
    commands
        .iter()
        .map(|c| {
            c.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "malformed request: a command is not a string".to_owned())
        })
        .collect()
}

/// Sends command lines to the instance listening on `path` and returns its reply.
pub async fn run_remote(path: &Path, commands: &[String]) -> Result<Reply, ControlError> {
    let stream = UnixStream::connect(path).await.map_err(io_error(path))?;
    let (reader, mut writer) = stream.into_split();
    let request = json!({ "commands": commands });
    writer
        .write_all(format!("{request}\n").as_bytes())
        .await
        .map_err(io_error(path))?;
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    reader.read_line(&mut line).await.map_err(io_error(path))?;
    let protocol = |reason: &str| ControlError::Protocol {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let value: Value = serde_json::from_str(&line).map_err(|e| protocol(&e.to_string()))?;
    let output = value
        .get("output")
        .and_then(Value::as_str)
        .ok_or_else(|| protocol("no output in reply"))?;
    let ok = value
        .get("ok")
        .and_then(Value::as_bool)
        .ok_or_else(|| protocol("no status in reply"))?;
    Ok(Reply {
        output: output.to_owned(),
        ok,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A session that records the mode the way the real CLI does: lines after
    /// `configure terminal` see the configuration mode.
    struct Echo {
        configuring: bool,
    }

    impl Session for Echo {
        async fn execute(&mut self, line: &str) -> (String, bool) {
            if line == "configure terminal" {
                self.configuring = true;
                return (String::new(), true);
            }
            if line == "bad" {
                return ("% Unknown command: bad\n".into(), false);
            }
            (
                format!(
                    "{}{line}\n",
                    if self.configuring { "(config) " } else { "" }
                ),
                true,
            )
        }
    }

    #[tokio::test]
    async fn commands_run_in_order_in_one_session_and_errors_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sock");
        let listener = bind(&path).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only socket");
        tokio::spawn(serve(listener, || Echo { configuring: false }));

        let reply = run_remote(
            &path,
            &[
                "show version".into(),
                "configure terminal".into(),
                "hostname r".into(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            reply,
            Reply {
                output: "show version\n(config) hostname r\n".into(),
                ok: true
            }
        );

        let reply = run_remote(&path, &["bad".into(), "show ip bgp".into()])
            .await
            .unwrap();
        assert!(!reply.ok);
        assert_eq!(
            reply.output, "% Unknown command: bad\nshow ip bgp\n",
            "a fresh session per request"
        );
    }

    #[tokio::test]
    async fn a_live_socket_is_not_taken_over_but_a_stale_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sock");
        let listener = bind(&path).await.unwrap();
        assert!(matches!(bind(&path).await, Err(ControlError::InUse(_))));
        drop(listener);
        assert!(bind(&path).await.is_ok(), "stale socket file replaced");
    }

    #[tokio::test]
    async fn garbage_on_the_socket_gets_an_error_reply() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sock");
        let listener = bind(&path).await.unwrap();
        tokio::spawn(serve(listener, || Echo { configuring: false }));
        let mut stream = UnixStream::connect(&path).await.unwrap();
        stream.write_all(b"not json\n").await.unwrap();
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).await.unwrap();
        assert!(reply.contains("malformed request"), "{reply}");
        assert!(reply.contains("\"ok\":false"), "{reply}");
    }
}
