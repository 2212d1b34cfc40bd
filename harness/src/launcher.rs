//! Launching the client under test once per case (`--exec 'CMD {url}'`, issue 13; h2spec's
//! `h2specd --exec` does the same for HTTP/2 clients).
//!
//! A case gives the client a URL and a budget. The client runs in its own process group with
//! stdin closed; what it prints is kept for the case report, at most [`OUTPUT_CAP`] bytes of
//! each stream (the rest is counted, not held); at the end of the case its whole group is killed,
//! whatever it still runs (a runner that forked a helper, a client that hangs). A command that
//! cannot be started is an error naming it; a client that exits, crashes or hangs is an
//! [`Outcome`] for the judge, never a hung run.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Bytes of a client's stdout, and of its stderr, kept for the case report.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// How long the output is still read once the client's group is killed: a process that left the
/// group (`setsid`) may hold the pipes open; what it wrote by then is kept.
pub const DRAIN: Duration = Duration::from_secs(1);
/// What `{url}` in a command line becomes.
pub const URL_PLACEHOLDER: &str = "{url}";

/// Why a `--exec` command line cannot be used.
#[derive(Debug, Error)]
pub enum LaunchError {
    /// Quotes that do not close, or a trailing backslash.
    #[error("--exec {command:?}: {reason} (quote words as a POSIX shell would)")]
    Syntax {
        /// The command line as given.
        command: String,
        /// What the word splitter found.
        reason: String,
    },
    /// No word at all.
    #[error("--exec is empty: give the client's command, e.g. --exec 'python3 client.py {{url}}'")]
    Empty,
    /// The program could not be started.
    #[error("--exec: cannot start {program:?}")]
    Spawn {
        /// The first word.
        program: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A `--exec` command line split into words, with `{url}` where the case URL goes (appended as
/// the last argument when no word holds it, as h2spec does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTemplate {
    words: Vec<String>,
}

impl ExecTemplate {
    /// Splits `command` into words (POSIX shell quoting, no shell is run).
    pub fn parse(command: &str) -> Result<ExecTemplate, LaunchError> {
        let mut words = shell_words::split(command)
            .map_err(|e| LaunchError::Syntax { command: command.to_owned(), reason: e.to_string() })?;
        if words.is_empty() {
            return Err(LaunchError::Empty);
        }
        if !words.iter().any(|w| w.contains(URL_PLACEHOLDER)) {
            words.push(URL_PLACEHOLDER.to_owned());
        }
        Ok(ExecTemplate { words })
    }

    /// The program and its arguments for `url`.
    pub fn argv(&self, url: &str) -> Vec<String> {
        self.words.iter().map(|w| w.replace(URL_PLACEHOLDER, url)).collect()
    }
}

/// How the client's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it (a crash: SIGSEGV, SIGABRT, ...).
    Signal(i32),
    /// It still ran at the end of its budget and was killed.
    KilledAtBudget,
}

/// One stream's output, capped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first [`OUTPUT_CAP`] bytes.
    pub bytes: Vec<u8>,
    /// Bytes written in all (more than `bytes.len()` when it was cut).
    pub total: u64,
}

/// What a launched client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How its process ended.
    pub exit: Exit,
    /// From spawn to exit (or to the kill).
    pub elapsed: Duration,
    /// Its stdout.
    pub stdout: Captured,
    /// Its stderr.
    pub stderr: Captured,
}

/// A client process started for one case.
pub struct Launched {
    child: tokio::process::Child,
    /// The client's process group: its pid (`process_group(0)`), kept after it is reaped.
    group: Option<libc::pid_t>,
    started: Instant,
    stdout: Capture,
    stderr: Capture,
}

impl Launched {
    /// Starts `template` for `url` in a process group of its own, stdin closed, output captured.
    pub fn start(template: &ExecTemplate, url: &str) -> Result<Launched, LaunchError> {
        let argv = template.argv(url);
        let (program, args) = argv.split_first().ok_or(LaunchError::Empty)?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| LaunchError::Spawn { program: program.clone(), source })?;
        let group = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok());
        let stdout = capture(child.stdout.take());
        let stderr = capture(child.stderr.take());
        Ok(Launched { child, group, started: Instant::now(), stdout, stderr })
    }

    /// Resolves when the client's process exits (to notice a client that ends before it connects);
    /// [`Launched::finish`] still reports it.
    pub async fn exited(&mut self) -> Exit {
        match self.child.wait().await {
            Ok(status) => exit_of(status),
            // waiting failed (it cannot for our own child): never resolves, the budget decides
            Err(_) => std::future::pending().await,
        }
    }

    /// Waits until the client exits or `budget` has passed since it started; then kills its whole
    /// process group (what it left running too) and returns what it did.
    pub async fn finish(mut self, budget: Duration) -> Outcome {
        let left = budget.saturating_sub(self.started.elapsed());
        let exit = match tokio::time::timeout(left, self.child.wait()).await {
            Ok(Ok(status)) => exit_of(status),
            // waiting failed (it cannot for our own child); treat it as still running
            Ok(Err(_)) | Err(_) => Exit::KilledAtBudget,
        };
        let elapsed = self.started.elapsed();
        self.kill_group();
        if exit == Exit::KilledAtBudget {
            // reaped, so that it leaves no zombie (SIGKILL ends it at once)
            let _ = tokio::time::timeout(DRAIN, self.child.wait()).await;
        }
        // the pipes close once every process of the group is gone
        let (stdout, stderr) = tokio::join!(self.stdout.finish(), self.stderr.finish());
        Outcome { exit, elapsed, stdout, stderr }
    }

    /// SIGKILL to the client's process group, whatever of it still runs.
    fn kill_group(&self) {
        kill_group(self.group);
    }
}

impl Drop for Launched {
    /// A case that ends without [`Launched::finish`] (cancelled, or an error between start and
    /// finish) still leaves nothing running: the group is killed and the readers stop.
    fn drop(&mut self) {
        self.kill_group();
        self.stdout.task.abort();
        self.stderr.task.abort();
    }
}

/// How a process ended, from its status.
pub(crate) fn exit_of(status: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        // neither a code nor a signal: not on Unix
        (None, None) => Exit::Code(-1),
    }
}

/// A pipe read to its end in a task, keeping the first [`OUTPUT_CAP`] bytes and counting the rest.
struct Capture {
    task: tokio::task::JoinHandle<()>,
    captured: Arc<Mutex<Captured>>,
}

fn capture(pipe: Option<impl AsyncRead + Unpin + Send + 'static>) -> Capture {
    let captured = Arc::new(Mutex::new(Captured::default()));
    let shared = Arc::clone(&captured);
    let task = tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let mut c = shared.lock().unwrap_or_else(|p| p.into_inner());
            let room = OUTPUT_CAP - c.bytes.len();
            c.bytes.extend_from_slice(&buf[..n.min(room)]);
            c.total += n as u64;
        }
    });
    Capture { task, captured }
}

impl Capture {
    /// What was read, once the pipe has closed or after [`DRAIN`].
    async fn finish(&mut self) -> Captured {
        if tokio::time::timeout(DRAIN, &mut self.task).await.is_err() {
            self.task.abort();
        }
        let mut c = self.captured.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *c)
    }
}

#[cfg(test)]
mod tests;

/// SIGKILL to process group `group` (a child started as the leader of its own group), if it has one.
pub(crate) fn kill_group(group: Option<libc::pid_t>) {
    let Some(pgid) = group.filter(|g| *g > 0) else { return };
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}
