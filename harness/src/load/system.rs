//! What the generator asks of the operating system: file descriptors, source addresses,
//! and its own CPU time and memory.

use std::net::{IpAddr, Ipv4Addr};

/// File descriptors kept for everything that is not a connection (stdio, the runtime, the report).
pub const FD_RESERVE: u64 = 64;

/// Raises the soft file-descriptor limit as far as the hard limit allows; returns (soft, hard).
pub fn raise_fd_limit() -> (u64, u64) {
    match rlimit::Resource::NOFILE.get() {
        Ok((soft, hard)) => {
            if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_ok() {
                return (hard, hard);
            }
            (soft, hard)
        }
        Err(_) => (1024, 1024),
    }
}

/// How many local ports connect() may pick from (`/proc/sys/net/ipv4/ip_local_port_range`).
pub fn ephemeral_ports() -> u64 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|x| x.parse::<u64>().ok());
            let (lo, hi) = (it.next()??, it.next()??);
            Some(hi.saturating_sub(lo) + 1)
        })
        .unwrap_or(28_232)
}

/// Loopback source addresses for `connections` to one loopback target: none (the kernel's choice)
/// when its ephemeral ports suffice, else `127.0.0.1`, `127.0.0.2`, ... enough for all.
pub fn auto_source_addrs(connections_per_target: u64, target: IpAddr) -> Vec<IpAddr> {
    // keep a tenth of the ports for everyone else
    let per_addr = ephemeral_ports() * 9 / 10;
    if !target.is_loopback() || !target.is_ipv4() || connections_per_target <= per_addr {
        return Vec::new();
    }
    let n = connections_per_target.div_ceil(per_addr).min(254);
    (1..=n).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i as u8))).collect()
}

/// CPU time (user + system) of this process so far, in nanoseconds.
pub fn cpu_time_ns() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass; RUSAGE_SELF is always valid
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Resident memory of this process, in bytes (0 where /proc is missing).
pub fn rss_bytes() -> u64 {
    // SAFETY: sysconf has no preconditions
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    };
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|x| x.parse::<u64>().ok()))
        .map(|pages| pages * page)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_over_loopback_addresses_only_when_ports_run_out() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(auto_source_addrs(100, lo).is_empty());
        let many = auto_source_addrs(ephemeral_ports() * 2, lo);
        assert!(many.len() >= 3, "{many:?}");
        assert_eq!(many[1], "127.0.0.2".parse::<IpAddr>().unwrap());
        assert!(auto_source_addrs(1_000_000, "10.0.0.1".parse().unwrap()).is_empty());
    }

    #[test]
    fn the_fd_limit_is_raised_to_the_hard_limit() {
        let (soft, hard) = raise_fd_limit();
        assert_eq!(soft, hard);
        assert!(cpu_time_ns() > 0);
        assert!(rss_bytes() > 0);
    }
}
