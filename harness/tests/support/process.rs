//! Runs the `wsharness` binary as a user would, and measures it from outside: exit code, wall time, peak
//! memory (`VmHWM`), with an optional SIGINT; every wait bounded.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The binary under test: this build's, or `WSHARNESS_BIN` (to run the tests against another
/// build, e.g. the one before a change, and see what they catch).
pub fn binary() -> PathBuf {
    std::env::var_os("WSHARNESS_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wsharness")), PathBuf::from)
}

/// How a run of the binary went, measured from outside.
#[derive(Debug)]
pub struct Measured {
    /// Exit code (`None`: ended by a signal).
    pub code: Option<i32>,
    /// What it printed.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// From spawn to exit.
    pub wall: Duration,
    /// From the SIGINT (if one was sent) to exit.
    pub after_sigint: Option<Duration>,
    /// Peak resident memory of the process, KiB: its `VmHWM` (`/proc/PID/status`), read every few
    /// milliseconds until it exits. (Not `ru_maxrss`: Linux carries the spawning process's peak
    /// into it at `exec`, so it would read the test process's memory.)
    pub max_rss_kib: u64,
}

/// Runs the binary in `dir`, sends it SIGINT after `sigint_after` if given, and measures its
/// wall time and peak resident memory. Panics (after killing it) if it runs longer than `limit`.
pub fn wsharness_measured(args: &[&str], dir: &Path, limit: Duration, sigint_after: Option<Duration>) -> Measured {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let started = Instant::now();
    let child = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("wsharness runs");
    let pid = child.id() as libc::pid_t;
    let mut signalled: Option<Instant> = None;
    let mut max_rss_kib = 0;
    let status = loop {
        // read before the exit check: the last reading is taken while it still runs
        max_rss_kib = max_rss_kib.max(vm_hwm_kib(pid).unwrap_or(0));
        let mut status = 0;
        // SAFETY: waits for our own child, writing into a local
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break status;
        }
        assert_eq!(r, 0, "waitpid: {}", std::io::Error::last_os_error());
        if signalled.is_none() && sigint_after.is_some_and(|a| started.elapsed() >= a) {
            // SAFETY: signalling our own child process by its id
            assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
            signalled = Some(Instant::now());
        }
        if started.elapsed() > limit {
            // SAFETY: as above; then reaped so that it leaves no zombie
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("wsharness {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let exited = Instant::now();
    drop(child); // already reaped
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        wall: exited - started,
        after_sigint: signalled.map(|s| exited - s),
        max_rss_kib,
    }
}

/// `VmHWM` of a running process, KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
