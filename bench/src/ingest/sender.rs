//! The sending side: N distinct IPv4 /24 prefixes encoded into packed UPDATEs before any
//! clock starts, and a raw BGP session (our codec over a blocking socket) that opens the
//! session, then writes the whole buffer at once while a second thread drains what the
//! receiver sends (KEEPALIVEs, its End-of-RIB, a NOTIFICATION if it gives up).

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bgp::Family;
use bgp::packet::{
    AsPath, Capability, DecodeOptions, EncodeOptions, Message, Open, PathAttributes,
    decode_message, encode_announce_ipv4, encode_message, frame_length,
};
use bytes::BytesMut;
use ipnet::Ipv4Net;

use super::{IngestError, Result, io_err};

/// First prefix of the workload: 20.0.0.0/24, then every following /24.
const FIRST_PREFIX: u32 = 0x1400_0000;
/// The workload must stay below 224.0.0.0 (multicast).
const LAST_ADDRESS: u32 = 0xE000_0000;
/// Hold time the sender offers; it sends a KEEPALIVE every third of it after the push.
const HOLD_TIME: u16 = 240;
/// How long the OPEN exchange may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// The pre-encoded announcements.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Number of distinct prefixes.
    pub prefixes: u64,
    /// Number of UPDATE messages.
    pub messages: usize,
    /// The UPDATEs back to back.
    pub bytes: Vec<u8>,
    /// The sender's AS (first in every AS_PATH).
    pub sender_as: u32,
}

impl Workload {
    /// Encodes `prefixes` /24s from 20.0.0.0/24 upwards with ORIGIN IGP, AS_PATH
    /// `sender_as` and `next_hop`, packed into 4096-octet UPDATEs.
    pub fn new(prefixes: u64, sender_as: u32, next_hop: Ipv4Addr) -> Result<Workload> {
        let room = u64::from((LAST_ADDRESS - FIRST_PREFIX) >> 8);
        if prefixes == 0 || prefixes > room {
            return Err(IngestError::Parse {
                what: format!("a prefix count between 1 and {room}"),
                text: prefixes.to_string(),
            });
        }
        let nlri: Vec<Ipv4Net> = (0..prefixes as u32)
            .filter_map(|i| Ipv4Net::new(Ipv4Addr::from(FIRST_PREFIX + (i << 8)), 24).ok())
            .collect();
        let attrs = PathAttributes {
            as_path: AsPath::from_sequence([sender_as]),
            next_hop: Some(next_hop),
            ..PathAttributes::default()
        };
        let mut out = BytesMut::with_capacity(nlri.len() * 4 + nlri.len() / 256 * 64);
        let messages = encode_announce_ipv4(&attrs, &nlri, &EncodeOptions::default(), &mut out)?;
        Ok(Workload {
            prefixes,
            messages,
            bytes: out.to_vec(),
            sender_as,
        })
    }
}

/// Opens a TCP connection from `local` to `remote`, inside network namespace `netns` when
/// given (the socket is created on a thread that entered the namespace; it stays there).
pub fn connect(local: IpAddr, remote: SocketAddr, netns: Option<&str>) -> Result<TcpStream> {
    let netns = netns.map(str::to_string);
    let worker = std::thread::spawn(move || -> Result<TcpStream> {
        if let Some(name) = &netns {
            let path = format!("/var/run/netns/{name}");
            let file = std::fs::File::open(&path).map_err(io_err(format!("open {path}")))?;
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|source| {
                IngestError::Setns {
                    namespace: name.clone(),
                    source,
                }
            })?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("build a tokio runtime for connect"))?;
        let stream = runtime.block_on(async {
            let socket = match local {
                IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
            }
            .map_err(io_err("create a socket"))?;
            socket
                .bind(SocketAddr::new(local, 0))
                .map_err(io_err(format!("bind {local}")))?;
            tokio::time::timeout(Duration::from_secs(10), socket.connect(remote))
                .await
                .map_err(|_| IngestError::Timeout {
                    what: format!("TCP connect to {remote}"),
                    timeout: Duration::from_secs(10),
                })?
                .map_err(io_err(format!("connect to {remote}")))
        })?;
        let stream = stream.into_std().map_err(io_err("detach the socket"))?;
        stream
            .set_nonblocking(false)
            .map_err(io_err("make the socket blocking"))?;
        Ok(stream)
    });
    worker.join().unwrap_or_else(|_| {
        Err(IngestError::Session {
            name: remote.to_string(),
            detail: "the connect thread panicked".into(),
        })
    })
}

/// Reads whole messages off a blocking stream.
struct MessageReader {
    input: BytesMut,
    opts: DecodeOptions,
}

impl MessageReader {
    fn new() -> MessageReader {
        MessageReader {
            input: BytesMut::with_capacity(65536),
            opts: DecodeOptions::default(),
        }
    }

    /// The next message, `None` at end of stream.
    fn next(&mut self, stream: &mut TcpStream, name: &str) -> Result<Option<Message>> {
        let session_err = |detail: String| IngestError::Session {
            name: name.to_string(),
            detail,
        };
        loop {
            match frame_length(&self.input) {
                Ok(Some(len)) => {
                    let frame = self.input.split_to(len);
                    let decoded = decode_message(&frame, &self.opts)
                        .map_err(|e| session_err(format!("undecodable message: {e}")))?;
                    return Ok(Some(decoded.message));
                }
                Ok(None) => {}
                Err(e) => return Err(session_err(format!("bad message header: {e}"))),
            }
            let mut chunk = [0u8; 65536];
            let n = stream
                .read(&mut chunk)
                .map_err(io_err(format!("read from {name}")))?;
            if n == 0 {
                return Ok(None);
            }
            self.input
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }
}

fn send(stream: &mut TcpStream, message: &Message, name: &str) -> Result<()> {
    let mut out = BytesMut::new();
    encode_message(message, &EncodeOptions::default(), &mut out).map_err(IngestError::Encode)?;
    stream
        .write_all(&out)
        .map_err(io_err(format!("write to {name}")))
}

/// A session in the middle of (or after) the push.
pub struct Push {
    /// When the session was Established and the first UPDATE byte was handed to the socket.
    pub started: Instant,
    /// When the last byte was handed to the socket (set by the writer thread).
    written: Arc<Mutex<Option<Instant>>>,
    problem: Arc<Mutex<Option<String>>>,
    stop: Arc<AtomicBool>,
    stream: TcpStream,
    threads: Vec<JoinHandle<()>>,
}

impl Push {
    /// Completes the OPEN exchange on `stream` (as `sender_as` with identifier `bgp_id`),
    /// then starts the clock and writes the workload from a thread.
    pub fn start(
        mut stream: TcpStream,
        workload: Arc<Workload>,
        bgp_id: Ipv4Addr,
        name: &str,
    ) -> Result<Push> {
        stream
            .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
            .map_err(io_err("set a read timeout"))?;
        stream
            .set_nodelay(true)
            .map_err(io_err("set TCP_NODELAY"))?;
        let sender_as = workload.sender_as;
        let open = Open {
            version: 4,
            my_as: u16::try_from(sender_as).unwrap_or(23456),
            hold_time: HOLD_TIME,
            bgp_id,
            capabilities: vec![
                Capability::Multiprotocol(Family::Ipv4Unicast.afi_safi()),
                Capability::FourOctetAs(sender_as),
            ],
        };
        send(&mut stream, &Message::Open(open), name)?;
        let mut reader = MessageReader::new();
        let mut got_open = false;
        loop {
            let message = reader
                .next(&mut stream, name)?
                .ok_or_else(|| IngestError::Session {
                    name: name.to_string(),
                    detail: "closed during the OPEN exchange".into(),
                })?;
            match message {
                Message::Open(_) if !got_open => {
                    got_open = true;
                    send(&mut stream, &Message::Keepalive, name)?;
                }
                Message::Keepalive if got_open => break,
                Message::Notification(n) => {
                    return Err(IngestError::Session {
                        name: name.to_string(),
                        detail: format!("NOTIFICATION during the OPEN exchange: {n:?}"),
                    });
                }
                other => {
                    return Err(IngestError::Session {
                        name: name.to_string(),
                        detail: format!("unexpected message during the OPEN exchange: {other:?}"),
                    });
                }
            }
        }
        stream
            .set_read_timeout(None)
            .map_err(io_err("clear the read timeout"))?;
        let started = Instant::now();
        let written = Arc::new(Mutex::new(None));
        let problem = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        {
            let mut out = stream.try_clone().map_err(io_err("clone the socket"))?;
            let written = Arc::clone(&written);
            let problem = Arc::clone(&problem);
            let stop = Arc::clone(&stop);
            let name = name.to_string();
            threads.push(std::thread::spawn(move || {
                if let Err(e) = out.write_all(&workload.bytes) {
                    note(&problem, format!("writing the UPDATEs: {e}"));
                    return;
                }
                if let Ok(mut w) = written.lock() {
                    *w = Some(Instant::now());
                }
                // Keep the session up for as long as the receiver needs.
                let every = Duration::from_secs(u64::from(HOLD_TIME / 3));
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                    if last.elapsed() >= every {
                        if let Err(e) = send(&mut out, &Message::Keepalive, &name) {
                            note(&problem, e.to_string());
                            return;
                        }
                        last = Instant::now();
                    }
                }
            }));
        }
        {
            let mut input = stream.try_clone().map_err(io_err("clone the socket"))?;
            let problem = Arc::clone(&problem);
            let stop = Arc::clone(&stop);
            let name = name.to_string();
            threads.push(std::thread::spawn(move || {
                loop {
                    match reader.next(&mut input, &name) {
                        Ok(Some(Message::Notification(n))) => {
                            note(&problem, format!("the receiver sent NOTIFICATION {n:?}"));
                            return;
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            if !stop.load(Ordering::Relaxed) {
                                note(&problem, "the receiver closed the session".into());
                            }
                            return;
                        }
                        Err(e) => {
                            if !stop.load(Ordering::Relaxed) {
                                note(&problem, e.to_string());
                            }
                            return;
                        }
                    }
                }
            }));
        }
        Ok(Push {
            started,
            written,
            problem,
            stop,
            stream,
            threads,
        })
    }

    /// What went wrong on the session so far, if anything.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().ok().and_then(|p| p.clone())
    }

    /// How long writing the whole workload into the socket took, once it is done.
    pub fn write_time(&self) -> Option<Duration> {
        self.written
            .lock()
            .ok()
            .and_then(|w| *w)
            .map(|w| w.duration_since(self.started))
    }

    /// Closes the session and joins the threads.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn note(problem: &Mutex<Option<String>>, text: String) {
    if let Ok(mut p) = problem.lock() {
        p.get_or_insert(text);
    }
}
