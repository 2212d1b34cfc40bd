//! `wsharness serve`'s sockets: accepts clients on a loopback port, reads each request head, routes it
//! through Autobahn's URL API ([`super::route`]) and answers: a case run on the connection
//! ([`run_client_case`]), or one of the API's small messages.
//!
//! Everything held for clients is bounded: at most `jobs` cases run at once and [`MAX_WAITING`] more
//! connections wait for their turn (the next get 503); a request head has 5 s and 16 KiB; an agent's
//! results are one entry per case, and there are at most [`MAX_AGENTS`] agents.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use reports::verdict::FailOn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{timeout, timeout_at, Instant};

use super::autobahn_api::{case_count_message, case_info_message, case_status_message, route, ApiRequest};
use super::index::{AutobahnIndex, MAX_AGENTS};
use super::keys::KeyLedger;
use super::numbering::CaseNumber;
use super::suite::{agent_report, record, write_agent, write_index, AgentRun, ClientSuite};
use crate::conformance::observe::Io;
use crate::conformance::{case_budget, read_request, run_client_case, Accepted, CaseOutcome, RunOptions};
use crate::wire::{FrameReader, FrameSpec, Opcode, ReceivedRequest, ServerReply};

/// Connections that may wait for a free job; past them a client gets 503.
pub const MAX_WAITING: usize = 64;

/// How long a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an API answer waits for the client's close reply before dropping the connection.
const API_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How `serve` runs.
#[derive(Debug)]
pub struct ServeConfig {
    /// The cases.
    pub suite: ClientSuite,
    /// Case budgets.
    pub options: RunOptions,
    /// Cases run at once.
    pub jobs: usize,
    /// Where reports go.
    pub out: PathBuf,
    /// The gate.
    pub fail_on: FailOn,
}

/// One agent's results so far.
#[derive(Debug)]
struct AgentResults {
    started: SystemTime,
    first: std::time::Instant,
    /// By case index.
    outcomes: BTreeMap<usize, CaseOutcome>,
    /// Cases finished since the reports were last written.
    unwritten: bool,
}

/// What every connection shares.
struct Shared {
    config: ServeConfig,
    url: String,
    index: Mutex<AutobahnIndex>,
    agents: Mutex<BTreeMap<String, AgentResults>>,
    /// The keys each agent sent.
    keys: Mutex<KeyLedger>,
    /// A case finished (`/getCaseStatus` waits for one).
    finished: Notify,
    jobs: Semaphore,
    connections: AtomicUsize,
    stop: watch::Sender<bool>,
}

/// A running `serve`: its address, and the way to stop it.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// What a stopped server leaves: each agent's report, as written.
#[derive(Debug)]
pub struct Served {
    /// Per agent: the report and the folder it was written to (or why it could not be).
    pub agents: Vec<(reports::conformance::ConformanceReport, anyhow::Result<PathBuf>)>,
    /// Why `index.json` could not be written, if it could not.
    pub index_error: Option<anyhow::Error>,
}

impl Serving {
    /// Starts serving `config` on `listener`.
    pub fn start(listener: TcpListener, config: ServeConfig) -> std::io::Result<Serving> {
        let addr = listener.local_addr()?;
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            url: format!("ws://{addr}"),
            jobs: Semaphore::new(config.jobs.max(1)),
            config,
            index: Mutex::new(AutobahnIndex::default()),
            agents: Mutex::new(BTreeMap::new()),
            keys: Mutex::new(KeyLedger::default()),
            finished: Notify::new(),
            connections: AtomicUsize::new(0),
            stop,
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Serving { addr, shared, task })
    }

    /// Resolves once a client asked the server to stop (`/stopServer`, `shutdownOnComplete`).
    pub async fn stopped(&self) {
        let mut rx = self.shared.stop.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Stops accepting, ends the cases still running, and writes every agent's reports.
    pub async fn stop(self) -> Served {
        let _ = self.shared.stop.send(true);
        let _ = self.task.await;
        let agents = write_reports(&self.shared, Which::Every);
        let index_error = write_index(&self.shared.config.out, &lock(&self.shared.index)).err();
        Served { agents, index_error }
    }
}

/// Accepts until stopped; each connection in a task of its own (all ended when stopped).
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                tasks.spawn(connection(Arc::clone(&shared), stream));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
}

/// One client connection, counted while it lasts.
async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let waiting = shared.connections.fetch_add(1, Ordering::SeqCst);
    let mut stream: Box<dyn Io> = Box::new(stream);
    if waiting >= shared.config.jobs + MAX_WAITING {
        let busy = ServerReply::refusal(503, "Service Unavailable").encode();
        let _ = timeout(HEAD_TIMEOUT, stream.write_all(&busy)).await;
    } else {
        handle(&shared, stream).await;
    }
    shared.connections.fetch_sub(1, Ordering::SeqCst);
}

/// Reads the request, routes it, answers.
async fn handle(shared: &Shared, mut stream: Box<dyn Io>) {
    let start = Instant::now();
    let (request, rest) = match read_request(&mut stream, start + HEAD_TIMEOUT).await {
        Ok(r) => r,
        Err(e) => {
            if e.is_malformed() {
                let reply = ServerReply::refusal(400, "Bad Request").body(e.to_string()).encode();
                let _ = timeout(HEAD_TIMEOUT, stream.write_all(&reply)).await;
            }
            return;
        }
    };
    let suite = &shared.config.suite;
    let api = match route(&request.target, &suite.numbering) {
        Ok(api) => api,
        Err(e) => {
            let _ = timeout(HEAD_TIMEOUT, stream.write_all(&e.reply().encode())).await;
            return;
        }
    };
    match api {
        ApiRequest::GetCaseCount => answer(stream, &request, &[case_count_message(suite.cases.len())]).await,
        ApiRequest::GetCaseInfo { case } => {
            let (key, title) = (suite.key(case), suite.case(case).map_or("", |c| c.title.as_str()));
            answer(stream, &request, &[case_info_message(key, title)]).await
        }
        ApiRequest::GetCaseStatus { case, agent } => {
            let behavior = case_status(shared, case, &agent).await;
            answer(stream, &request, &[case_status_message(&behavior)]).await
        }
        ApiRequest::RunCase { case, agent } => {
            run_case(shared, case, agent, Accepted { stream, request, rest, key_reused: false }).await
        }
        ApiRequest::UpdateReports { shutdown_on_complete, .. } => {
            let _ = write_reports(shared, Which::Unwritten);
            let _ = write_index(&shared.config.out, &lock(&shared.index));
            answer(stream, &request, &[]).await;
            if shutdown_on_complete {
                let _ = shared.stop.send(true);
            }
        }
        ApiRequest::StopServer => {
            answer(stream, &request, &[]).await;
            let _ = shared.stop.send(true);
        }
    }
}

/// `/runCase`: the case on this connection, when a job is free; its outcome recorded for the agent.
async fn run_case(shared: &Shared, case: CaseNumber, agent: String, mut accepted: Accepted) {
    let suite = &shared.config.suite;
    let Some(spec) = suite.case(case) else { return };
    let full = {
        let agents = lock(&shared.agents);
        !agents.contains_key(&agent) && agents.len() >= MAX_AGENTS
    };
    if full {
        let why = format!("more than {MAX_AGENTS} agents: restart the server to test more clients");
        let mut stream = accepted.stream;
        let reply = ServerReply::refusal(400, "Bad Request").body(why).encode();
        let _ = timeout(HEAD_TIMEOUT, stream.write_all(&reply)).await;
        return;
    }
    let key = accepted.request.websocket_key().unwrap_or_default();
    accepted.key_reused = !key.is_empty() && lock(&shared.keys).seen_before(&agent, key);
    let Ok(_permit) = shared.jobs.acquire().await else { return };
    let outcome = run_client_case(spec, accepted, Instant::now(), &shared.config.options).await;
    let _ = record(&mut lock(&shared.index), &agent, suite.key(case), &outcome);
    let mut agents = lock(&shared.agents);
    let results = agents.entry(agent).or_insert_with(|| AgentResults {
        started: SystemTime::now() - outcome.duration,
        first: std::time::Instant::now() - outcome.duration,
        outcomes: BTreeMap::new(),
        unwritten: true,
    });
    results.outcomes.insert(case.index(), outcome);
    results.unwritten = true;
    drop(agents);
    shared.finished.notify_waiters();
}

/// `/getCaseStatus`: the case's verdict for the agent once it has run (waited for, as Autobahn does,
/// at most the case's budget), else `NOT RUN`.
async fn case_status(shared: &Shared, case: CaseNumber, agent: &str) -> String {
    let budget = shared.config.suite.case(case).map_or(Duration::ZERO, |c| case_budget(c, &shared.config.options));
    let deadline = Instant::now() + budget;
    loop {
        let finished = shared.finished.notified();
        if let Some(o) = lock(&shared.agents).get(agent).and_then(|a| a.outcomes.get(&case.index())) {
            return o.verdict.as_str().to_owned();
        }
        if timeout_at(deadline, finished).await.is_err() {
            return "NOT RUN".to_owned();
        }
    }
}

/// Answers an API request: the valid 101, these text messages, a close without a status code; then
/// waits a little for the client's close reply and drops the connection.
async fn answer(mut stream: Box<dyn Io>, request: &ReceivedRequest, messages: &[String]) {
    let mut out = ServerReply::accepting(request).encode();
    for m in messages {
        if let Ok(frame) = FrameSpec::text(m.as_bytes()).unmasked().encode() {
            out.extend_from_slice(&frame);
        }
    }
    if let Ok(close) = FrameSpec::close_empty().unmasked().encode() {
        out.extend_from_slice(&close);
    }
    if timeout(API_CLOSE_WAIT, stream.write_all(&out)).await.is_err() {
        return;
    }
    // the client's close reply, or its end: whatever comes first, bounded in time and bytes
    let mut reader = FrameReader::with_max_payload(64 * 1024);
    let mut buf = [0u8; 4096];
    let until = Instant::now() + API_CLOSE_WAIT;
    'reading: while reader.buffered().len() < 64 * 1024 {
        match timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => reader.push(&buf[..n]),
            _ => break,
        }
        while let Ok(Some(frame)) = reader.next_frame() {
            if frame.header.defined_opcode() == Some(Opcode::Close) {
                break 'reading;
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// Writes every agent's reports into the output folder: what it ran so far.
fn write_reports(
    shared: &Shared,
    which: Which,
) -> Vec<(reports::conformance::ConformanceReport, anyhow::Result<PathBuf>)> {
    let config = &shared.config;
    // the reports are built under the lock and written after it, so that finishing cases never wait on the disk
    let built: Vec<_> = {
        let mut agents = lock(&shared.agents);
        agents
            .iter_mut()
            .filter(|(_, results)| which == Which::Every || results.unwritten)
            .map(|(agent, results)| {
                results.unwritten = false;
                let run = AgentRun {
                    agent,
                    url: shared.url.clone(),
                    started_at: humantime::format_rfc3339_seconds(results.started).to_string(),
                    elapsed: results.first.elapsed(),
                    fail_on: config.fail_on,
                };
                let outcomes: Vec<(usize, &CaseOutcome)> = results.outcomes.iter().map(|(i, o)| (*i, o)).collect();
                agent_report(&config.suite, &run, &outcomes)
            })
            .collect()
    };
    built
        .into_iter()
        .map(|report| {
            let dir = write_agent(&config.out, &config.suite, &report);
            (report, dir)
        })
        .collect()
}

/// Whose reports [`write_reports`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    /// Every agent's (when the server stops: the summaries need them all).
    Every,
    /// Those with cases finished since their last writing (`/updateReports`: the others' files are current).
    Unwritten,
}

/// A lock that a panicked holder left usable (the data are whole: every update is one call).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
