//! Container logs in the CRI format the kubelet writes and kwok reads back for
//! `kubectl logs`: one entry per line, `TIMESTAMP STREAM TAG TEXT`, with the timestamp in
//! RFC 3339 with nanoseconds, the stream `stdout` or `stderr` and the tag `F` for a full line
//! or `P` for a piece of a longer one (lines are cut at [`MAX_LINE`] bytes, as the kubelet
//! cuts them, so a program that never ends a line cannot grow the lab's memory).
//!
//! [`Splitter`] and [`entry`] are pure; [`pump`] reads a stream into a channel and
//! [`write_entries`] appends what it gets to a file.

use std::io::Write;
use std::path::Path;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// The longest piece one entry holds.
pub const MAX_LINE: usize = 16 * 1024;

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A line (or piece of one) read from a container, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where it came from.
    pub stream: Stream,
    /// Its bytes.
    pub text: Vec<u8>,
    /// Whether it ends a line (`F`) or is cut from a longer one (`P`).
    pub full: bool,
}

/// Cuts a byte stream into lines of at most [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
pub struct Splitter {
    pending: Vec<u8>,
}

impl Splitter {
    /// The lines completed by `bytes`: full lines, and pieces of a line that grew past
    /// [`MAX_LINE`].
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                out.push(Line {
                    stream,
                    text: std::mem::take(&mut self.pending),
                    full: true,
                });
            } else {
                self.pending.push(b);
                if self.pending.len() == MAX_LINE {
                    out.push(Line {
                        stream,
                        text: std::mem::take(&mut self.pending),
                        full: false,
                    });
                }
            }
        }
        out
    }

    /// What is left at the end of the stream: a last line without a newline.
    pub fn finish(&mut self, stream: Stream) -> Option<Line> {
        (!self.pending.is_empty()).then(|| Line {
            stream,
            text: std::mem::take(&mut self.pending),
            full: true,
        })
    }
}

/// One CRI log entry for `line` at `timestamp` (RFC 3339), newline included.
pub fn entry(timestamp: &str, line: &Line) -> Vec<u8> {
    let tag = if line.full { "F" } else { "P" };
    let mut out = format!("{timestamp} {} {tag} ", line.stream.name()).into_bytes();
    out.extend_from_slice(&line.text);
    out.push(b'\n');
    out
}

/// The current time as the CRI format writes it.
pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%9fZ")
        .to_string()
}

/// Reads `reader` to its end, sending its lines to `lines`.
pub async fn pump(mut reader: impl AsyncRead + Unpin, stream: Stream, lines: mpsc::Sender<Line>) {
    let mut splitter = Splitter::default();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for line in splitter.push(stream, buf.get(..n).unwrap_or_default()) {
            if lines.send(line).await.is_err() {
                return;
            }
        }
    }
    if let Some(line) = splitter.finish(stream) {
        let _ = lines.send(line).await;
    }
}

/// Appends every line received to the CRI log `path` until all senders are gone. A write
/// error is reported once on stderr and the rest is dropped (the container keeps running,
/// as it would with a full disk under a real kubelet).
pub async fn write_entries(path: &Path, mut lines: mpsc::Receiver<Line>) {
    let mut file = match std::fs::File::options()
        .create(true)
        .append(true)
        .open(path)
    {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("kubelet: cannot open the log {}: {e}", path.display());
            None
        }
    };
    while let Some(line) = lines.recv().await {
        if let Some(f) = file.as_mut()
            && let Err(e) = f.write_all(&entry(&now(), &line))
        {
            eprintln!("kubelet: cannot write the log {}: {e}", path.display());
            file = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<(String, bool)> {
        lines
            .iter()
            .map(|l| (String::from_utf8_lossy(&l.text).into_owned(), l.full))
            .collect()
    }

    #[test]
    fn lines_split_at_newlines_across_reads() {
        let mut s = Splitter::default();
        let first = s.push(Stream::Stdout, b"{\"event\":\"sessionUp\"}\n{\"ev");
        let second = s.push(Stream::Stdout, b"ent\":\"x\"}\n\nlast");
        assert_eq!(texts(&first), [("{\"event\":\"sessionUp\"}".into(), true)]);
        assert_eq!(
            texts(&second),
            [("{\"event\":\"x\"}".into(), true), (String::new(), true)]
        );
        let last = s.finish(Stream::Stdout).map(|l| texts(&[l]));
        assert_eq!(last, Some(vec![("last".into(), true)]));
        assert_eq!(s.finish(Stream::Stdout), None);
    }

    #[test]
    fn a_long_line_comes_out_in_partial_pieces() {
        let mut s = Splitter::default();
        let mut input = vec![b'a'; MAX_LINE * 2 + 3];
        input.push(b'\n');
        let lines = s.push(Stream::Stderr, &input);
        let shape: Vec<(usize, bool)> = lines.iter().map(|l| (l.text.len(), l.full)).collect();
        assert_eq!(shape, [(MAX_LINE, false), (MAX_LINE, false), (3, true)]);
    }

    #[test]
    fn entries_have_the_cri_layout() {
        let line = Line {
            stream: Stream::Stderr,
            text: b"speaker: refusing".to_vec(),
            full: true,
        };
        assert_eq!(
            entry("2026-12-04T19:00:00.000000001Z", &line),
            b"2026-12-04T19:00:00.000000001Z stderr F speaker: refusing\n"
        );
        let stamp = now();
        assert_eq!(
            stamp.len(),
            "2026-12-04T19:00:00.000000001Z".len(),
            "{stamp}"
        );
        assert!(stamp.ends_with('Z'));
    }
}
