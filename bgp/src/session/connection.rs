//! One TCP connection to a peer: an input buffer that is split into whole BGP messages
//! (two-phase, as mini-redis frames: check the header and length, then decode), and an output
//! buffer that the session task drains whenever the socket is writable.
//!
//! Neither reading nor writing ever blocks the session task on a slow peer: both are
//! cancel-safe steps used inside one `select!`, so timers keep running while a peer that
//! stopped reading has our UPDATEs queued.

use std::io;
use std::net::SocketAddr;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::packet::{
    DecodeError, DecodeOptions, Decoded, EncodeError, EncodeOptions, Message, decode_message,
    encode_message, frame_length,
};

/// Bytes read from the socket per call; a full-size BGP message is 4096.
const READ_CHUNK: usize = 64 * 1024;

/// Who opened the TCP connection (needed for collision detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We connected to the peer.
    Outbound,
    /// The peer connected to us.
    Inbound,
}

/// What reading from the connection produced.
#[derive(Debug)]
pub enum Received {
    /// A decoded message (with any RFC 7606 issues found in it).
    Message(Box<Decoded>),
    /// Bytes that cannot be a valid message: the session must be reset with the error's
    /// NOTIFICATION.
    Malformed(DecodeError),
}

/// The receiving half: socket reader, input buffer and decoding options.
#[derive(Debug)]
pub struct ConnReader {
    socket: OwnedReadHalf,
    input: BytesMut,
    /// How messages are decoded; updated once the OPEN exchange fixes the options.
    pub decode: DecodeOptions,
}

/// The sending half: socket writer, output buffer and encoding options.
#[derive(Debug)]
pub struct ConnWriter {
    socket: OwnedWriteHalf,
    output: BytesMut,
    /// How messages are encoded; updated once the OPEN exchange fixes the options.
    pub encode: EncodeOptions,
}

/// A TCP connection carrying a BGP session.
#[derive(Debug)]
pub struct Connection {
    /// Receiving half.
    pub reader: ConnReader,
    /// Sending half.
    pub writer: ConnWriter,
    /// Who opened it.
    pub direction: Direction,
    /// Our end.
    pub local: SocketAddr,
    /// The peer's end.
    pub remote: SocketAddr,
}

impl Connection {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream, direction: Direction) -> io::Result<Self> {
        let local = stream.local_addr()?;
        let remote = stream.peer_addr()?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(Connection {
            reader: ConnReader {
                socket: reader,
                input: BytesMut::with_capacity(READ_CHUNK),
                decode: DecodeOptions::default(),
            },
            writer: ConnWriter {
                socket: writer,
                output: BytesMut::new(),
                encode: EncodeOptions::default(),
            },
            direction,
            local,
            remote,
        })
    }

    /// The next whole message already buffered, if any (no I/O).
    pub fn next_buffered(&mut self) -> Option<Received> {
        self.reader.next_buffered()
    }

    /// Reads more bytes from the socket. Cancel-safe. Returns false when the peer closed.
    pub async fn fill(&mut self) -> bool {
        self.reader.fill().await
    }

    /// Queues a message for sending.
    pub fn queue(&mut self, message: &Message) -> Result<(), EncodeError> {
        self.writer.queue(message)
    }

    /// Queues bytes that are already encoded BGP messages.
    pub fn queue_encoded(&mut self, bytes: &[u8]) {
        self.writer.output.extend_from_slice(bytes);
    }

    /// Whether queued output waits for the socket.
    pub fn has_output(&self) -> bool {
        !self.writer.output.is_empty()
    }

    /// Writes some queued output. Cancel-safe: nothing is lost if the future is dropped.
    pub async fn flush_some(&mut self) -> io::Result<()> {
        self.writer.flush_some().await
    }

    /// Sets the options negotiated in the OPEN exchange.
    pub fn set_options(&mut self, decode: DecodeOptions, encode: EncodeOptions) {
        self.reader.decode = decode;
        self.writer.encode = encode;
    }

    /// Writes everything queued (bounded by `limit`), then shuts the socket down. Used after
    /// a NOTIFICATION so the peer gets to read it.
    pub async fn close(mut self, limit: std::time::Duration) {
        let flush = async {
            while self.has_output() {
                if self.flush_some().await.is_err() {
                    break;
                }
            }
            let _ = self.writer.socket.shutdown().await;
        };
        let _ = tokio::time::timeout(limit, flush).await;
    }
}

impl ConnReader {
    /// The next whole message already buffered, if any (no I/O).
    pub fn next_buffered(&mut self) -> Option<Received> {
        match frame_length(&self.input) {
            Ok(None) => None,
            Ok(Some(len)) => {
                let frame = self.input.split_to(len);
                Some(match decode_message(&frame, &self.decode) {
                    Ok(decoded) => Received::Message(Box::new(decoded)),
                    Err(err) => Received::Malformed(err),
                })
            }
            Err(err) => {
                // The stream is out of sync: nothing after this point can be trusted.
                self.input.clear();
                Some(Received::Malformed(err))
            }
        }
    }

    /// Reads more bytes from the socket. Cancel-safe. Returns false when the peer closed.
    pub async fn fill(&mut self) -> bool {
        self.input.reserve(READ_CHUNK);
        matches!(self.socket.read_buf(&mut self.input).await, Ok(n) if n > 0)
    }
}

impl ConnWriter {
    /// Queues a message for sending.
    pub fn queue(&mut self, message: &Message) -> Result<(), EncodeError> {
        encode_message(message, &self.encode, &mut self.output)
    }

    /// Writes some queued output. Cancel-safe: nothing is lost if the future is dropped.
    pub async fn flush_some(&mut self) -> io::Result<()> {
        let n = self.socket.write(&self.output).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.output.advance(n);
        Ok(())
    }

    /// Whether queued output waits for the socket.
    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }
}
