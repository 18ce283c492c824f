//! TCP MD5 signatures (RFC 2385) on Linux sockets.
//!
//! No maintained safe crate wraps the `TCP_MD5SIG` socket option, so this is the one module
//! of the crate that uses `unsafe`: a single `setsockopt` call with a `#[repr(C)]` copy of the
//! kernel's `struct tcp_md5sig`. The key is installed per peer address, on the listening
//! socket (so the kernel checks inbound SYNs from that peer) and on each outgoing socket
//! before `connect`.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

/// Longest key the kernel accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_KEY_LEN: usize = 80;

/// Errors setting a TCP MD5 key.
#[derive(Debug, thiserror::Error)]
pub enum Md5Error {
    /// The password is longer than the kernel allows.
    #[error("TCP MD5 password is {len} bytes long; the kernel accepts at most {MAX_KEY_LEN}")]
    KeyTooLong {
        /// Length of the refused key.
        len: usize,
    },
    /// The kernel refused the option (no CONFIG_TCP_MD5SIG, wrong address family, ...).
    #[error("setting TCP MD5 signature for {peer}: {source}")]
    Kernel {
        /// The peer the key was for.
        peer: IpAddr,
        /// The error the kernel returned.
        source: io::Error,
    },
}

/// The kernel's `struct tcp_md5sig` (include/uapi/linux/tcp.h).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MAX_KEY_LEN],
}

/// Installs (or, with an empty `password`, removes) the MD5 key for `peer` on `socket`.
/// For an IPv4 peer on an IPv6 socket the key is installed for the v4-mapped address.
pub fn set_md5_key(socket: &impl AsRawFd, peer: IpAddr, password: &[u8]) -> Result<(), Md5Error> {
    if password.len() > MAX_KEY_LEN {
        return Err(Md5Error::KeyTooLong {
            len: password.len(),
        });
    }
    // SAFETY: an all-zero bit pattern is a valid value for this plain C struct.
    let mut sig: TcpMd5Sig = unsafe { mem::zeroed() };
    write_sockaddr(&mut sig.addr, peer, is_ipv6_socket(socket));
    sig.key_len = password.len() as u16;
    sig.key[..password.len()].copy_from_slice(password);
    // SAFETY: `sig` is a fully initialised `struct tcp_md5sig` that lives across the call,
    // and the length passed is its exact size; the fd is owned by `socket` and open.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&raw const sig).cast::<libc::c_void>(),
            mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Md5Error::Kernel {
            peer,
            source: io::Error::last_os_error(),
        })
    }
}

/// Whether the socket is of the IPv6 family (then IPv4 peers appear v4-mapped).
fn is_ipv6_socket(socket: &impl AsRawFd) -> bool {
    // SAFETY: zeroed sockaddr_storage is valid; getsockname writes at most `len` bytes.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockname(
            socket.as_raw_fd(),
            (&raw mut storage).cast::<libc::sockaddr>(),
            &mut len,
        )
    };
    rc == 0 && i32::from(storage.ss_family) == libc::AF_INET6
}

fn write_sockaddr(storage: &mut libc::sockaddr_storage, peer: IpAddr, v6_socket: bool) {
    let peer = match peer {
        IpAddr::V4(v4) if v6_socket => IpAddr::V6(v4.to_ipv6_mapped()),
        other => other,
    };
    match peer {
        IpAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr type.
            let sin = unsafe {
                &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
        }
        IpAddr::V6(v6) => {
            // SAFETY: as above.
            let sin6 = unsafe {
                &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = v6.octets();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_matches_kernel_layout() {
        assert_eq!(mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn key_longer_than_80_bytes_is_refused() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string());
        let Ok(socket) = socket else {
            panic!("cannot bind a loopback socket: {socket:?}");
        };
        let err = set_md5_key(
            &socket,
            "127.0.0.2".parse().unwrap_or(IpAddr::from([127, 0, 0, 2])),
            &[b'x'; 81],
        );
        assert!(matches!(err, Err(Md5Error::KeyTooLong { len: 81 })));
    }

    #[test]
    fn key_is_accepted_by_the_kernel_on_a_listener() {
        let socket = std::net::TcpListener::bind("127.0.0.1:0");
        let Ok(socket) = socket else {
            panic!("cannot bind a loopback socket");
        };
        let result = set_md5_key(&socket, IpAddr::from([127, 0, 0, 2]), b"secret");
        assert!(result.is_ok(), "{result:?}");
        let removed = set_md5_key(&socket, IpAddr::from([127, 0, 0, 2]), b"");
        assert!(removed.is_ok(), "{removed:?}");
    }
}
