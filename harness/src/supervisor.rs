//! The server under test, started by wsharness (`conformance --server-cmd 'CMD {port}'`, issue 15).
//!
//! A hand-written server often dies under the cases (the seed PHP servers do on the 2^63 length case).
//! From outside, a run only sees refused connections; started here, the server is restarted when it
//! dies, each death is recorded with when it happened, how the process ended (exit code or signal) and
//! the last bytes it wrote, and the run can tell which case killed it (`commands::server_cmd`).
//!
//! The command is split into words as a POSIX shell would (no shell runs); `{port}` becomes a free
//! loopback port. The server runs in a process group of its own, stdin closed; of its stdout and stderr
//! the last [`TAIL`] bytes each are kept. It is restarted at most [`MAX_RESTARTS`] times; each start
//! must listen within [`START_TIMEOUT`]. Stopping (or dropping) the supervisor kills the whole group.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::watch;

pub use crate::launcher::Exit;

/// What `{port}` in the command becomes.
pub const PORT_PLACEHOLDER: &str = "{port}";
/// Bytes of the server's stdout, and of its stderr, kept (the last ones).
pub const TAIL: usize = 2048;
/// Restarts after deaths, at most; then the server stays down and the cases left are NOT RUN.
pub const MAX_RESTARTS: usize = 100;
/// How long a start may take until the server accepts a TCP connection.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`Supervisor::settle`] waits before it checks that the server listens: the process exit is
/// seen a moment after the connection broke.
pub const SETTLE: Duration = Duration::from_millis(200);

/// Why the server could not be started.
#[derive(Debug, Error)]
pub enum SupervisorError {
    /// Quotes that do not close, an empty command, or no `{port}`.
    #[error("--server-cmd {command:?}: {reason}")]
    Command {
        /// The command line as given.
        command: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The program could not be started.
    #[error("--server-cmd: cannot start {program:?}")]
    Spawn {
        /// The first word.
        program: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// It did not accept a connection in time, or exited first.
    #[error("--server-cmd: the server did not listen on 127.0.0.1:{port} within {secs} s ({how}); its output ended with:\n{tail}")]
    NotListening {
        /// The port it was given.
        port: u16,
        /// [`START_TIMEOUT`] in seconds.
        secs: u64,
        /// It exited (how), or was still running.
        how: String,
        /// The last lines it wrote.
        tail: String,
    },
    /// No free loopback port.
    #[error("--server-cmd: no free port on 127.0.0.1")]
    NoPort(#[source] std::io::Error),
}

/// The command line, split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCmd {
    words: Vec<String>,
}

impl ServerCmd {
    /// Splits `command` (POSIX shell quoting); one word must hold `{port}`.
    pub fn parse(command: &str) -> Result<ServerCmd, SupervisorError> {
        let bad = |reason: &str| SupervisorError::Command { command: command.to_owned(), reason: reason.to_owned() };
        let words =
            shell_words::split(command).map_err(|e| bad(&format!("{e} (quote words as a POSIX shell would)")))?;
        if words.is_empty() {
            return Err(bad("empty: give the server's command, e.g. --server-cmd 'php server.php {port}'"));
        }
        if !words.iter().any(|w| w.contains(PORT_PLACEHOLDER)) {
            return Err(bad("no {port} in it: the server must listen on the port wsharness gives it"));
        }
        Ok(ServerCmd { words })
    }

    fn argv(&self, port: u16) -> Vec<String> {
        self.words.iter().map(|w| w.replace(PORT_PLACEHOLDER, &port.to_string())).collect()
    }
}

/// One death of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// When its exit was seen.
    pub at: Instant,
    /// How its process ended.
    pub exit: Exit,
    /// The last bytes of its stderr (of its stdout when stderr was empty), lossily as text.
    pub tail: String,
}

impl Death {
    /// `exit status 255` / `killed by signal 11 (SIGSEGV)`.
    pub fn how(&self) -> String {
        describe_exit(self.exit)
    }
}

/// The running server and its watcher.
pub struct Supervisor {
    /// The port it listens on.
    pub port: u16,
    deaths: Arc<Mutex<Vec<Death>>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Supervisor {
    /// Starts `cmd` on a free loopback port and waits until it listens; then watches it, restarting it
    /// after each death.
    pub async fn start(cmd: ServerCmd) -> Result<Supervisor, SupervisorError> {
        let port = free_port().map_err(SupervisorError::NoPort)?;
        let first = Running::spawn(&cmd, port)?;
        let first = first.until_listening(port).await?;
        let deaths = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(watch_server(cmd, port, first, Arc::clone(&deaths), stopped));
        Ok(Supervisor { port, deaths, stop, task })
    }

    /// The deaths so far, oldest first.
    pub fn deaths(&self) -> Vec<Death> {
        self.deaths.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until the server accepts a connection (after a restart), at most [`START_TIMEOUT`].
    pub async fn await_listening(&self) -> bool {
        wait_listening(self.port, START_TIMEOUT).await
    }

    /// Waits until every death up to now is recorded: [`SETTLE`], then until the server accepts a
    /// connection again. A process that is dying has closed its listening socket, and the watcher records a
    /// death before it restarts, so a server that listens after the wait has no death left to record
    /// (reading [`Supervisor::deaths`] right after a case broke it raced its recording).
    pub async fn settle(&self) {
        tokio::time::sleep(SETTLE).await;
        self.await_listening().await;
    }

    /// Kills the server's process group and ends the watcher.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Waits for each death, records it, restarts; on stop, kills the group.
async fn watch_server(
    cmd: ServerCmd,
    port: u16,
    mut running: Running,
    deaths: Arc<Mutex<Vec<Death>>>,
    mut stopped: watch::Receiver<bool>,
) {
    for restart in 0..=MAX_RESTARTS {
        let exit = tokio::select! {
            status = running.child.wait() => status.map_or(Exit::Code(-1), crate::launcher::exit_of),
            _ = stopped.wait_for(|s| *s) => return running.kill(),
        };
        let death = Death { at: Instant::now(), exit, tail: running.tail() };
        deaths.lock().unwrap_or_else(|p| p.into_inner()).push(death);
        running.kill();
        if restart == MAX_RESTARTS {
            return;
        }
        running = match Running::spawn(&cmd, port) {
            Ok(r) => r,
            Err(_) => return,
        };
        // a restart that does not listen is seen as the next death (or as refused connections)
        let _ = wait_listening(port, START_TIMEOUT).await;
    }
}

/// One start of the server.
struct Running {
    child: Child,
    group: Option<libc::pid_t>,
    stdout: Tail,
    stderr: Tail,
}

impl Running {
    fn spawn(cmd: &ServerCmd, port: u16) -> Result<Running, SupervisorError> {
        let argv = cmd.argv(port);
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| SupervisorError::Command { command: String::new(), reason: "empty".to_owned() })?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child =
            command.spawn().map_err(|source| SupervisorError::Spawn { program: program.clone(), source })?;
        let group = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok());
        let stdout = Tail::of(child.stdout.take());
        let stderr = Tail::of(child.stderr.take());
        Ok(Running { child, group, stdout, stderr })
    }

    /// Waits until it listens; an exit first, or [`START_TIMEOUT`], is an error with its output.
    async fn until_listening(mut self, port: u16) -> Result<Running, SupervisorError> {
        let how = tokio::select! {
            listening = wait_listening(port, START_TIMEOUT) => {
                if listening { return Ok(self) }
                "still running".to_owned()
            }
            status = self.child.wait() => status.map_or("exited".to_owned(), |s| describe_exit(crate::launcher::exit_of(s))),
        };
        // its last words may still be in the pipe
        tokio::time::sleep(Duration::from_millis(50)).await;
        let tail = self.tail();
        self.kill();
        Err(SupervisorError::NotListening { port, secs: START_TIMEOUT.as_secs(), how, tail })
    }

    fn tail(&self) -> String {
        let err = self.stderr.text();
        if err.trim().is_empty() {
            self.stdout.text()
        } else {
            err
        }
    }

    fn kill(&self) {
        crate::launcher::kill_group(self.group);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
        self.stdout.task.abort();
        self.stderr.task.abort();
    }
}

/// The last [`TAIL`] bytes of a pipe, read to its end in a task.
struct Tail {
    task: tokio::task::JoinHandle<()>,
    bytes: Arc<Mutex<VecDeque<u8>>>,
}

impl Tail {
    fn of(pipe: Option<impl AsyncRead + Unpin + Send + 'static>) -> Tail {
        let bytes = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL)));
        let shared = Arc::clone(&bytes);
        let task = tokio::spawn(async move {
            let Some(mut pipe) = pipe else { return };
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut tail = shared.lock().unwrap_or_else(|p| p.into_inner());
                tail.extend(&buf[..n]);
                let over = tail.len().saturating_sub(TAIL);
                tail.drain(..over);
            }
        });
        Tail { task, bytes }
    }

    fn text(&self) -> String {
        let tail = self.bytes.lock().unwrap_or_else(|p| p.into_inner());
        let (a, b) = tail.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).into_owned()
    }
}

/// `exit status 255` / `killed by signal 11 (SIGSEGV)`.
pub fn describe_exit(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exit status {code}"),
        Exit::Signal(signal) => format!("killed by signal {signal}{}", signal_name(signal)),
        Exit::KilledAtBudget => "killed".to_owned(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGPIPE => " (SIGPIPE)",
        _ => "",
    }
}

fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` within `timeout`.
async fn wait_listening(port: u16, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Listens on `argv[1]`; a connection that sends `die` ends the process (exit 3) once its socket
    /// is closed, as a server that crashes on a frame does.
    const DIES_ON_A_WORD: &str = "import socket,sys,os\n\
        s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
        s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(16)\n\
        while True:\n    c,_=s.accept()\n    if c.recv(16)==b'die':\n        print('dying', flush=True); os._exit(3)\n    c.close()\n";

    /// The run reads the deaths right after its last case broke the server: `settle` makes that read
    /// see the death (before it, the read raced the watcher; CI saw one death of two).
    #[tokio::test]
    async fn a_death_just_seen_by_a_case_is_recorded_after_settle() {
        let cmd =
            ServerCmd::parse(&format!("python3 -c {} {{port}}", shell_words::quote(DIES_ON_A_WORD))).expect("command");
        let server = Supervisor::start(cmd).await.expect("python3 listens");
        for round in 1..=3 {
            let mut conn = TcpStream::connect(("127.0.0.1", server.port)).await.expect("connect");
            conn.write_all(b"die").await.expect("write");
            let mut rest = Vec::new();
            let _ = conn.read_to_end(&mut rest).await;
            server.settle().await;
            let deaths = server.deaths();
            assert_eq!(deaths.len(), round, "{deaths:?}");
            assert_eq!(deaths[round - 1].exit, Exit::Code(3));
            assert!(deaths[round - 1].tail.contains("dying"), "{deaths:?}");
        }
        server.stop().await;
    }
}
