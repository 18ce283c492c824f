//! The UDP sockets of BFD (RFC 5881 single hop, RFC 5883 multihop): the receiving sockets on
//! the well-known ports, which report each datagram's TTL (hop limit) so that GTSM can be
//! checked, and one sending socket per session from a port in 49152–65535 with TTL 255.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, SockaddrIn, SockaddrIn6,
    SockaddrStorage, bind, recvmsg, setsockopt, socket, sockopt,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Destination port of single-hop Control packets (RFC 5881 §4).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// Destination port of multihop Control packets (RFC 5883 §5).
pub const MULTIHOP_PORT: u16 = 4784;
/// The TTL (hop limit) every packet is sent with (RFC 5881 §5, RFC 5883 §5).
pub const SEND_TTL: u8 = 255;
/// Receive buffer asked for on the well-known ports: a thousand sessions at 300 ms are
/// ~3,300 packets a second, and a buffer of the default size (~200 KiB, a few hundred
/// datagrams with their kernel overhead) overflows when the task is late by a tenth of a
/// second on a loaded machine; lost packets are what BFD counts as a failure.
const RECEIVE_BUFFER: usize = 4 << 20;
/// Source ports of Control packets (RFC 5881 §4).
const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// A datagram as received.
#[derive(Debug, Clone, Copy)]
pub struct Datagram {
    /// Octets read into the buffer.
    pub len: usize,
    /// The sender.
    pub from: SocketAddr,
    /// The IP TTL or hop limit it arrived with (`None` if the kernel did not say).
    pub ttl: Option<u8>,
}

fn nix_err(err: nix::Error) -> io::Error {
    io::Error::from(err)
}

/// Binds a receiving socket on `address` (an unspecified address for all interfaces) that
/// reports each datagram's TTL. An IPv6 socket takes IPv6 only, so IPv4 has its own.
pub fn bind_receiver(address: SocketAddr) -> io::Result<UdpSocket> {
    let family = match address {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket(
        family,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(nix_err)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true).map_err(nix_err)?;
    // Past `net.core.rmem_max` with CAP_NET_ADMIN; without it, as much as the limit allows.
    if setsockopt(&fd, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
        setsockopt(&fd, sockopt::RcvBuf, &RECEIVE_BUFFER).map_err(nix_err)?;
    }
    match address {
        SocketAddr::V4(v4) => {
            setsockopt(&fd, sockopt::Ipv4RecvTtl, &true).map_err(nix_err)?;
            bind(fd.as_raw_fd(), &SockaddrIn::from(v4)).map_err(nix_err)?;
        }
        SocketAddr::V6(v6) => {
            setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(nix_err)?;
            setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true).map_err(nix_err)?;
            bind(fd.as_raw_fd(), &SockaddrIn6::from(v6)).map_err(nix_err)?;
        }
    }
    UdpSocket::from_std(std::net::UdpSocket::from(fd))
}

/// Binds the sending socket of one session: from `local` (or the address the kernel picks)
/// and a free port in 49152–65535, tried from `start` on, with TTL 255.
pub fn bind_sender(peer: IpAddr, local: Option<IpAddr>, start: u16) -> io::Result<UdpSocket> {
    let ip = local.unwrap_or(match peer {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    let span = u32::from(SOURCE_PORTS.end() - SOURCE_PORTS.start()) + 1;
    let offset = u32::from(start) % span;
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for step in 0..span {
        let port = *SOURCE_PORTS.start() + ((offset + step) % span) as u16;
        match std::net::UdpSocket::bind(SocketAddr::new(ip, port)) {
            Ok(socket) => {
                match ip {
                    IpAddr::V4(_) => socket.set_ttl(u32::from(SEND_TTL))?,
                    IpAddr::V6(_) => setsockopt(&socket, sockopt::Ipv6Ttl, &i32::from(SEND_TTL))
                        .map_err(nix_err)?,
                }
                socket.set_nonblocking(true)?;
                return UdpSocket::from_std(socket);
            }
            Err(err) if err.kind() == io::ErrorKind::AddrInUse => last = err,
            Err(err) => return Err(err),
        }
    }
    Err(last)
}

/// Receives one datagram with its TTL.
pub async fn receive(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Datagram> {
    socket
        .async_io(Interest::READABLE, || receive_now(socket, buf))
        .await
}

fn receive_now(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Datagram> {
    let mut space = nix::cmsg_space!(libc::c_int, libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(nix_err)?;
    let ttl = message.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|cmsg| match cmsg {
            ControlMessageOwned::Ipv4Ttl(ttl) | ControlMessageOwned::Ipv6HopLimit(ttl) => {
                u8::try_from(ttl).ok()
            }
            _ => None,
        })
    });
    let from = message
        .address
        .as_ref()
        .and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| SocketAddr::from(std::net::SocketAddrV4::from(*v4)))
                .or_else(|| {
                    a.as_sockaddr_in6()
                        .map(|v6| SocketAddr::from(std::net::SocketAddrV6::from(*v6)))
                })
        })
        .ok_or_else(|| io::Error::other("datagram without a sender address"))?;
    Ok(Datagram {
        len: message.bytes,
        from,
        ttl,
    })
}
