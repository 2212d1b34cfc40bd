//! Launching real processes (`sh`, `sleep`): exit codes, signals, the budget, the output cap, and
//! processes the client left behind.

use super::*;

fn template(cmd: &str) -> ExecTemplate {
    ExecTemplate::parse(cmd).expect("a valid command line")
}

async fn run(cmd: &str, budget: Duration) -> Outcome {
    Launched::start(&template(cmd), "ws://127.0.0.1:9/runCase?case=1&agent=exec").expect("starts").finish(budget).await
}

#[test]
fn the_url_goes_where_the_placeholder_is_or_last() {
    let url = "ws://h:1/runCase?case=2&agent=a b";
    let with = format!("--url={url}");
    assert_eq!(template("python3 'my client.py' --url={url} -v").argv(url), ["python3", "my client.py", &with, "-v"]);
    assert_eq!(template("./client --quiet").argv(url), ["./client", "--quiet", url]);
}

#[test]
fn a_command_line_that_cannot_be_split_or_is_empty_is_refused_saying_why() {
    let e = ExecTemplate::parse("client 'unclosed {url}").expect_err("an open quote");
    assert!(e.to_string().contains("quote words as a POSIX shell would"), "{e}");
    assert!(matches!(ExecTemplate::parse("   "), Err(LaunchError::Empty)));
}

#[tokio::test]
async fn a_program_that_does_not_exist_is_an_error_naming_it() {
    let e =
        Launched::start(&template("/nonexistent/wsharness-client {url}"), "ws://x/").err().expect("no such program");
    assert!(e.to_string().contains("cannot start \"/nonexistent/wsharness-client\""), "{e}");
}

#[tokio::test]
async fn exit_codes_signals_and_output_are_reported() {
    let done = run("sh -c 'echo \"got $1\"; echo oops >&2; exit 3' sh", Duration::from_secs(10)).await;
    assert_eq!(done.exit, Exit::Code(3));
    assert_eq!(done.stdout.bytes, b"got ws://127.0.0.1:9/runCase?case=1&agent=exec\n");
    assert_eq!(done.stderr.bytes, b"oops\n");
    let crashed = run("sh -c 'kill -SEGV $$' sh", Duration::from_secs(10)).await;
    assert_eq!(crashed.exit, Exit::Signal(libc::SIGSEGV));
}

#[tokio::test]
async fn a_client_that_hangs_is_killed_at_its_budget() {
    let began = Instant::now();
    let hung = run("sh -c 'sleep 30' sh", Duration::from_millis(300)).await;
    assert_eq!(hung.exit, Exit::KilledAtBudget);
    assert!(hung.elapsed >= Duration::from_millis(300), "{:?}", hung.elapsed);
    // the kill, the reaping and the pipes' end take milliseconds, not the 30 s
    assert!(began.elapsed() < Duration::from_secs(5), "{:?}", began.elapsed());
}

/// Whether process `pid` still runs (a zombie, killed and waiting for init to reap it, does not).
fn running(pid: libc::pid_t) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // the state follows the command name in parentheses
    stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
}

#[tokio::test]
async fn what_the_client_left_running_dies_with_it() {
    // the client starts a helper in its group and exits at once; the helper would outlive the case
    let pid_file = std::env::temp_dir().join(format!("wsharness-launcher-{}.pid", std::process::id()));
    let cmd = format!("sh -c 'sleep 30 & echo $! > {}; exit 0' sh", pid_file.display());
    let done = run(&cmd, Duration::from_secs(10)).await;
    assert_eq!(done.exit, Exit::Code(0));
    let pid: libc::pid_t = std::fs::read_to_string(&pid_file).expect("pid file").trim().parse().expect("a pid");
    let _ = std::fs::remove_file(&pid_file);
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running(pid), "the helper {pid} still runs after the case");
}

#[tokio::test]
async fn output_past_the_cap_is_counted_not_kept() {
    // 200 KiB on stdout
    let done = run("sh -c 'head -c 204800 /dev/zero' sh", Duration::from_secs(10)).await;
    assert_eq!(done.exit, Exit::Code(0));
    assert_eq!(done.stdout.bytes.len(), OUTPUT_CAP);
    assert_eq!(done.stdout.total, 204_800);
}

#[tokio::test]
async fn a_process_that_leaves_the_group_holding_the_pipes_costs_the_drain_not_a_hang() {
    // setsid: a new session, out of reach of the group kill, holding our stdout; the client waits
    // until it has left the group, then exits
    let pid_file = std::env::temp_dir().join(format!("wsharness-launcher-setsid-{}.pid", std::process::id()));
    let _ = std::fs::remove_file(&pid_file);
    let inner = format!("echo \\$\\$ > {}; echo started; exec sleep 30", pid_file.display());
    let cmd =
        format!("sh -c 'setsid sh -c \"{inner}\" & while [ ! -s {} ]; do sleep 0.01; done' sh", pid_file.display());
    let began = Instant::now();
    let done = run(&cmd, Duration::from_secs(10)).await;
    let pid: libc::pid_t = std::fs::read_to_string(&pid_file).expect("pid file").trim().parse().expect("a pid");
    let _ = std::fs::remove_file(&pid_file);
    // SAFETY: ends the process this test started
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(done.exit, Exit::Code(0));
    assert!(String::from_utf8_lossy(&done.stdout.bytes).contains("started"), "{:?}", done.stdout);
    // it held the pipe: the drain ran out, and no longer
    assert!(began.elapsed() >= DRAIN, "{:?}", began.elapsed());
    assert!(began.elapsed() < DRAIN + Duration::from_secs(3), "{:?}", began.elapsed());
}

#[tokio::test]
async fn a_launch_dropped_without_finish_leaves_nothing_running() {
    let pid_file = std::env::temp_dir().join(format!("wsharness-launcher-drop-{}.pid", std::process::id()));
    let _ = std::fs::remove_file(&pid_file);
    let cmd = format!("sh -c 'sleep 30 & echo $! > {}; wait' sh", pid_file.display());
    let launched = Launched::start(&template(&cmd), "ws://x/").expect("starts");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&pid_file).map_or(true, |s| s.trim().is_empty()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid: libc::pid_t = std::fs::read_to_string(&pid_file).expect("pid file").trim().parse().expect("a pid");
    let _ = std::fs::remove_file(&pid_file);
    // a case cancelled between start and finish
    drop(launched);
    while running(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running(pid), "the helper {pid} outlived the dropped launch");
}
