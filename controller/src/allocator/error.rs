//! Why an allocation was refused, worded as MetalLB words it.
//!
//! The controller copies these texts into Events (`AllocationFailed`, `ClearAssignment`, …),
//! where MetalLB users know them, so each variant prints MetalLB v0.16.2's message for the
//! same case. Go prints quoted values with `%q`; [`GoQuoted`] does the same here.

use std::fmt;
use std::net::IpAddr;

use super::ServiceKey;
use super::family::ServiceFamily;
use super::sharing::Port;

/// An allocation the allocator refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// The addresses are not all usable addresses of one pool (outside every pool, split
    /// across pools, or a `.0`/`.255` of a pool with `avoidBuggyIPs`).
    #[error("{} is not allowed in config", GoQuoted(.ips))]
    NotAllowedInConfig {
        /// The requested addresses.
        ips: Vec<IpAddr>,
    },
    /// The pool holding the addresses does not serve this Service (`serviceAllocation`).
    #[error("pool {pool} not compatible for ip assignment")]
    PoolNotCompatible {
        /// The pool.
        pool: String,
    },
    /// More than one address per family was requested.
    #[error("more than two addresses {}", GoQuoted(.ips))]
    TooManyAddresses {
        /// The requested addresses.
        ips: Vec<IpAddr>,
    },
    /// Two addresses of the same family were requested.
    #[error("{} {} has the same family", GoQuoted(.first), GoQuoted(.second))]
    SameFamily {
        /// The first address.
        first: IpAddr,
        /// The second address.
        second: IpAddr,
    },
    /// The address is held by other Services with another sharing or backend key.
    #[error(
        "can't change sharing key for {}, address also in use by {}",
        GoQuoted(.service.as_str()),
        .others.iter().map(ServiceKey::as_str).collect::<Vec<_>>().join(",")
    )]
    SharingKeyMismatch {
        /// The Service asking.
        service: ServiceKey,
        /// The Services holding the address, sorted.
        others: Vec<ServiceKey>,
    },
    /// Another Service sharing the address uses the same port and protocol.
    #[error("port {port} is already in use on {}", GoQuoted(.ip))]
    PortInUse {
        /// The port.
        port: Port,
        /// The address.
        ip: IpAddr,
    },
    /// No eligible pool had a free address for the Service.
    #[error("no available IPs")]
    NoAvailableIps,
    /// The requested pool does not exist.
    #[error("unknown pool {}", GoQuoted(.pool.as_str()))]
    UnknownPool {
        /// The pool's name.
        pool: String,
    },
    /// The requested pool has no free address of either family for the Service.
    #[error("no available IPs in pool {pool}")]
    PoolExhausted {
        /// The pool's name.
        pool: String,
    },
    /// The requested pool has no free address of the family the Service needs.
    ///
    /// MetalLB has this text for the dual-stack case only; for a single family it goes on
    /// with a nil address and reports `["<nil>"] is not allowed in config`. We report the
    /// pool and the family instead (see docs/decisions/0003-allocator.md).
    #[error("no available IPs in pool {pool} for {family} IPFamily")]
    NoAddressOfFamily {
        /// The pool's name.
        pool: String,
        /// The family the Service needs.
        family: ServiceFamily,
    },
    /// The Service holds addresses of another family than it now asks for.
    #[error("IP for wrong family assigned alloc {allocated} service family {requested}")]
    WrongFamily {
        /// The family of the addresses the Service holds.
        allocated: ServiceFamily,
        /// The family the Service asks for.
        requested: ServiceFamily,
    },
}

/// Displays a value as Go's `%q` verb does: a string in double quotes, a slice of them in
/// brackets, separated by spaces.
pub struct GoQuoted<'a, T: ?Sized>(pub &'a T);

impl fmt::Display for GoQuoted<'_, str> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Go's strconv.Quote and Rust's Debug escape the same way for the names and
        // addresses printed here (`"` and `\` escaped, printable text kept).
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for GoQuoted<'_, IpAddr> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

impl fmt::Display for GoQuoted<'_, Vec<IpAddr>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, ip) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}", GoQuoted(ip))?;
        }
        f.write_str("]")
    }
}
