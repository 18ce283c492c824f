//! The container image: `scripts/build-image.sh` lays out a build context with a static
//! mini-router and Debian's static busybox (checked here by running them in a chroot of the
//! rootfs, which has nothing else, as `FROM scratch` has nothing else), and where a Docker
//! engine can run, the image is built and run with the seed's command line on a
//! user-defined bridge network, driven on a TTY (tmux) and with `docker exec … -c`.
//!
//! A Docker engine is used when `docker info` answers; else, when `dockerd` is installed, the
//! test starts a private one (own socket, data and exec roots in a temporary directory, no
//! default bridge, no iptables) and stops it at the end. Where none can run, the test says
//! why on stderr in a banner and passes: that is the rule for such machines.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use support::tmux::Tmux;
use support::{Daemon, must, poll, run, unique};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-image.sh");

/// The context built once per test process (the release build is shared by the tests).
fn context() -> &'static Path {
    static CONTEXT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = CONTEXT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("context");
        let (ok, out, err) = run(Command::new("bash")
            .arg(SCRIPT)
            .args(["--context-only", "--context"])
            .arg(&path));
        assert!(ok, "build-image.sh --context-only failed:\n{out}{err}");
        (dir, path)
    });
    path
}

/// No program interpreter and no NEEDED libraries: runs with no libc beside it.
fn is_static(file: &Path) -> bool {
    let headers = must(Command::new("readelf").arg("-lW").arg(file));
    let dynamic = must(Command::new("readelf").arg("-dW").arg(file));
    headers.contains("Program Headers")
        && !headers.contains("INTERP")
        && !dynamic.contains("(NEEDED)")
}

#[test]
fn build_context_holds_a_static_mini_router_and_busybox_that_run_with_nothing_else() {
    let ctx = context();
    let rootfs = ctx.join("rootfs");
    assert!(ctx.join("Dockerfile").is_file());
    for binary in ["bin/mini-router", "bin/busybox"] {
        let path = rootfs.join(binary);
        assert!(path.is_file(), "{} missing", path.display());
        assert!(is_static(&path), "{} is not static", path.display());
    }
    for tool in ["sh", "wget", "ip", "ping"] {
        let link = std::fs::read_link(rootfs.join("bin").join(tool))
            .unwrap_or_else(|e| panic!("bin/{tool}: {e}"));
        assert_eq!(link, Path::new("busybox"), "bin/{tool}");
    }
    let entries: Vec<String> = std::fs::read_dir(&rootfs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["bin"], "the rootfs has only bin/");

    // In a chroot of the rootfs there is no libc, no /etc: what FROM scratch gives.
    let version = must(
        Command::new("chroot")
            .arg(&rootfs)
            .args(["/bin/mini-router", "--version"]),
    );
    assert_eq!(
        version.trim(),
        format!("mini-router {}", env!("CARGO_PKG_VERSION"))
    );
    let help = must(
        Command::new("chroot")
            .arg(&rootfs)
            .args(["/bin/mini-router", "--help"]),
    );
    assert!(help.contains("--listen-range"), "{help}");
    let shell = must(Command::new("chroot").arg(&rootfs).args([
        "/bin/sh",
        "-c",
        "echo shell works; wget --help 2>&1 | head -1; ip link show lo",
    ]));
    assert!(shell.starts_with("shell works\n"), "{shell}");
    assert!(shell.contains("BusyBox"), "{shell}");
    assert!(shell.contains("lo: <LOOPBACK"), "{shell}");
}

/// Prints why the Docker part could not run, where nobody can miss it.
fn banner(why: &str) {
    let line = "!".repeat(78);
    eprintln!(
        "\n{line}\n!!! image test: NO DOCKER ENGINE CAN RUN HERE, the image was NOT built or run.\n!!! {why}\n!!! (The build context is checked by build_context_holds_a_static_mini_router_...;\n!!! build and run the image where Docker runs: mini-router/scripts/build-image.sh)\n{line}\n"
    );
}

/// A Docker engine to talk to: the machine's, or a private dockerd this test started.
struct Engine {
    /// DOCKER_HOST for the client, when private.
    host: Option<String>,
    daemon: Option<Daemon>,
    _dir: Option<tempfile::TempDir>,
}

impl Engine {
    fn find() -> Result<Engine, String> {
        let info = Command::new("docker")
            .arg("info")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                format!("the docker client cannot run ({e}); install Debian's docker.io")
            })?;
        let err = String::from_utf8_lossy(&info.stderr).into_owned();
        if info.status.success() {
            return Ok(Engine {
                host: None,
                daemon: None,
                _dir: None,
            });
        }
        let client_error = err.lines().last().unwrap_or_default().to_owned();
        let dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .ok_or_else(|| {
                format!(
                    "`docker info` failed ({client_error}) and dockerd is not installed (Debian package docker.io)"
                )
            })?;
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let mut cmd = Command::new(dockerd);
        cmd.arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("docker.pid"))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"]);
        let mut daemon = Daemon::spawn("dockerd", cmd, &dir.path().join("dockerd.log"));
        let host = format!("unix://{}", socket.display());
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = daemon.exited() {
                let log = daemon.log();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!(
                    "`docker info` failed ({client_error}); a private dockerd exited ({status}): {}",
                    tail.join(" | ")
                ));
            }
            let (ok, _, _) = run(Command::new("docker").env("DOCKER_HOST", &host).arg("info"));
            if ok {
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "`docker info` failed ({client_error}); a private dockerd did not answer within 30 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(Engine {
            host: Some(host),
            daemon: Some(daemon),
            _dir: Some(dir),
        })
    }

    fn docker(&self) -> Command {
        let mut cmd = Command::new("docker");
        if let Some(host) = &self.host {
            cmd.env("DOCKER_HOST", host);
        }
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        must(self.docker().args(args))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // dockerd stops its containerd first; give it time before SIGKILL.
        if let Some(daemon) = &mut self.daemon {
            daemon.terminate(Duration::from_secs(20));
        }
    }
}

/// Removes what the test created on the engine (containers, network, image), even on panic.
struct DockerObjects<'a> {
    engine: &'a Engine,
    containers: Vec<String>,
    network: Option<String>,
    image: Option<String>,
}

impl Drop for DockerObjects<'_> {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = run(self.engine.docker().args(["rm", "-f", c]));
        }
        if let Some(n) = &self.network {
            let _ = run(self.engine.docker().args(["network", "rm", n]));
        }
        if let Some(i) = &self.image {
            let _ = run(self.engine.docker().args(["rmi", "-f", i]));
        }
    }
}

/// `docker exec NAME mini-router -c …` output, once it succeeds with `check`.
fn exec_until(
    engine: &Engine,
    name: &str,
    commands: &[&str],
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    poll(what, Duration::from_secs(60), || {
        let mut cmd = engine.docker();
        cmd.args(["exec", name, "mini-router"]);
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        let (ok, out, err) = run(&mut cmd);
        if ok && check(&out) {
            Ok(out)
        } else {
            Err(format!("{out}{err}"))
        }
    })
}

#[test]
fn image_runs_the_seeds_command_line_on_a_bridge_network_and_answers_docker_exec() {
    let engine = match Engine::find() {
        Ok(engine) => engine,
        Err(why) => {
            banner(&why);
            return;
        }
    };
    let tag = unique("mini-router-e2e");
    let (ok, out, err) = run(Command::new("bash")
        .envs(engine.host.iter().map(|h| ("DOCKER_HOST", h.as_str())))
        .arg(SCRIPT)
        .args(["--tag", &tag, "--context"])
        .arg(context().with_file_name("context-docker")));
    let mut objects = DockerObjects {
        engine: &engine,
        containers: Vec::new(),
        network: None,
        image: Some(tag.clone()),
    };
    assert!(ok, "build-image.sh failed:\n{out}{err}");

    // The tutorial's network (kubeadm-dind-net) with its subnet when free, else any.
    let net = unique("mre2e-net");
    let (created, _, _) =
        run(engine
            .docker()
            .args(["network", "create", "--subnet", "10.192.0.0/24", &net]));
    if !created {
        engine.ok(&["network", "create", &net]);
    }
    objects.network = Some(net.clone());

    // The seed's command line, on a terminal: banner and prompt.
    let router = unique("mre2e-router");
    objects.containers.push(router.clone());
    let docker_host = engine
        .host
        .as_ref()
        .map(|h| format!("DOCKER_HOST={h} "))
        .unwrap_or_default();
    let term = Tmux::start(
        &format!(
            "env {docker_host}docker run -it --rm --net={net} --cap-add=NET_ADMIN \
             --cap-add=NET_BROADCAST --cap-add=NET_RAW --name {router} {tag}; sleep 600"
        ),
        200,
        50,
    );
    let screen = term.wait(
        "the router's banner and prompt",
        Duration::from_secs(60),
        |s| s.contains("Hello, this is mini-router") && s.trim_end().ends_with('#'),
    );
    let prompt = screen.lines().last().unwrap().trim_end().to_owned();
    let host = prompt.trim_end_matches('#').to_owned();
    assert_eq!(
        host.len(),
        12,
        "prompt {prompt:?}: the container's short id"
    );

    let address = engine
        .ok(&[
            "inspect",
            "-f",
            &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
            &router,
        ])
        .trim()
        .to_owned();
    term.line("show interface");
    term.wait("show interface", Duration::from_secs(20), |s| {
        s.contains(&format!("inet {address}/")) && s.trim_end().ends_with(&prompt)
    });

    // A second container as the speaker: mini-router announcing 198.51.100.0/32 to the
    // router from the same image.
    let speaker = unique("mre2e-speaker");
    objects.containers.push(speaker.clone());
    engine.ok(&[
        "run",
        "-d",
        "--net",
        &net,
        "--cap-add=NET_ADMIN",
        "--name",
        &speaker,
        &tag,
        "--no-fib",
        "--hostname",
        "kube-node-1",
    ]);
    let neighbor = format!("neighbor {address} remote-as 64512");
    exec_until(
        &engine,
        &speaker,
        &[
            "configure terminal",
            "router bgp 64512",
            &neighbor,
            "address-family ipv4 unicast",
            "network 198.51.100.0/32",
        ],
        "the speaker's configuration",
        |_| true,
    );

    let summary = exec_until(
        &engine,
        &router,
        &["show ip bgp summary"],
        "the speaker's route in the router's summary",
        |out| {
            support::summary_rows(out)
                .iter()
                .any(|r| r.state_or_prefixes == "1")
        },
    );
    assert!(summary.contains("Total number of neighbors 1"), "{summary}");
    exec_until(
        &engine,
        &router,
        &["show ip bgp"],
        "the route as best path",
        |out| out.contains("*>i198.51.100.0/32"),
    );
    // NET_ADMIN: the route is in the container's kernel table via the speaker, with the
    // metric of mini-router's routes (busybox ip does not print the protocol).
    let speaker_address = engine
        .ok(&[
            "inspect",
            "-f",
            &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
            &speaker,
        ])
        .trim()
        .to_owned();
    let expected_route = format!("198.51.100.0 via {speaker_address} dev eth0");
    poll(
        "the kernel route in the router container",
        Duration::from_secs(30),
        || {
            let (ok, out, err) = run(engine.docker().args(["exec", &router, "ip", "route"]));
            let installed = out
                .lines()
                .any(|l| l.starts_with(&expected_route) && l.contains("metric 20"));
            if ok && installed {
                Ok(())
            } else {
                Err(format!("want {expected_route:?}:\n{out}{err}"))
            }
        },
    );

    // The tutorial's last step: the service address answers on the speaker (busybox
    // httpd on lo), and `start-shell` on the router's terminal reaches it with wget.
    engine.ok(&[
        "exec",
        &speaker,
        "sh",
        "-c",
        "ip addr add 198.51.100.0/32 dev lo && mkdir -p /www \
         && echo 'hello from kube-node-1' > /www/index.html \
         && busybox httpd -p 198.51.100.0:80 -h /www",
    ]);
    term.line("start-shell");
    term.wait("busybox sh's prompt", Duration::from_secs(20), |s| {
        let last = s.lines().last().unwrap_or_default().trim_end();
        last != prompt && last.ends_with('#')
    });
    term.line("wget -O- http://198.51.100.0/");
    term.wait(
        "the service's page on the router's shell",
        Duration::from_secs(20),
        |s| s.lines().any(|l| l.trim_end() == "hello from kube-node-1"),
    );
    term.line("exit");
    term.wait(
        "the router prompt after the shell",
        Duration::from_secs(20),
        |s| s.lines().last().unwrap_or_default().trim_end() == prompt,
    );

    // `exit` on the terminal ends the container (--rm removes it).
    term.line("exit");
    poll(
        "the router container to end",
        Duration::from_secs(30),
        || {
            let (ok, out, _) =
                run(engine
                    .docker()
                    .args(["ps", "-q", "-f", &format!("name={router}")]));
            if ok && out.trim().is_empty() {
                Ok(())
            } else {
                Err(out)
            }
        },
    );
}
