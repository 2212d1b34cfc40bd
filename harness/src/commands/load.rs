//! `wsharness load [URL]...`: validates the flags (stage two), runs the load, writes report.json,
//! prints the percentile table, and exits by the thresholds.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use reports::load::{DeflateSummary, GeneratorInfo, LoadSettings, LoadTarget};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::cli::{IoMode, LoadArgs};
use crate::conformance::Target;
use crate::load::connect::{probe_deflate, Endpoint, Failed, RequestExtras};
use crate::load::deflate::{describe, DeflatePlan, Mode, Offer};
use crate::load::driver::Ctx;
use crate::load::errors::LoadError;
use crate::load::payload::PayloadBook;
use crate::load::progress::ProgressLine;
use crate::load::session::{Pace, Plan};
use crate::load::shard::Shard;
use crate::load::size::SizeDist;
use crate::load::stats::{Clock, Collector, Window};
use crate::load::system::{auto_source_addrs, raise_fd_limit, FD_RESERVE};
use crate::load::threshold::Threshold;
use crate::load::{report, run};
use crate::wire::deflate::Negotiated;
use reports::load::ThresholdResult;

/// The flags, checked and split for this shard.
#[derive(Debug, Clone)]
pub struct Spec {
    /// This shard.
    pub shard: Shard,
    /// Connections of this shard.
    pub connections: u64,
    /// Open-loop rate of this shard.
    pub rate: Option<f64>,
    /// Measured messages of this shard.
    pub messages: Option<u64>,
    /// Measured phase, if time-bounded.
    pub duration: Option<Duration>,
    /// Sizes.
    pub sizes: SizeDist,
    /// Thresholds.
    pub thresholds: Vec<Threshold>,
    /// `--source-addrs` given explicitly (None: auto).
    pub sources: Option<Vec<IpAddr>>,
    /// `--churn`: how long each connection lives before it closes and opens again.
    pub lifetime: Option<Duration>,
}

impl Spec {
    /// Stage two: everything the flags must satisfy, with an error naming the flag.
    pub fn from_args(a: &LoadArgs) -> anyhow::Result<Spec> {
        if a.connections == 0 {
            bail!("--connections must be at least 1");
        }
        if a.in_flight == 0 {
            bail!("--in-flight must be at least 1");
        }
        if a.timeout.is_zero() {
            bail!("--timeout must be more than 0");
        }
        if a.max_handshakes == 0 {
            bail!("--max-handshakes must be at least 1");
        }
        if a.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if a.ping_interval.is_some_and(|p| p.is_zero()) {
            bail!("--ping-interval must be more than 0");
        }
        if let Some(r) = a.rate {
            if !(r.is_finite() && r > 0.0) {
                bail!("--rate must be a positive number of messages per second");
            }
        }
        if let Some(c) = a.churn {
            if !(c.is_finite() && c > 0.0) {
                bail!("--churn must be a positive number of connections per second");
            }
            if a.io == IoMode::IoUring {
                bail!("--churn reopens connections with the tokio driver: use --io auto or --io tokio");
            }
        }
        let shard = match &a.shard {
            Some(s) => Shard::parse(s)?,
            None => Shard::WHOLE,
        };
        let connections = shard.part(a.connections);
        if connections == 0 {
            bail!("--shard {shard}: {} connections leave none for this shard", a.connections);
        }
        let messages = a.messages.map(|m| shard.part(m));
        if messages == Some(0) {
            bail!("--messages must leave at least 1 message per shard");
        }
        let duration = match (a.duration, a.messages) {
            (Some(d), _) if d.is_zero() => bail!("--duration must be more than 0"),
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(10)),
        };
        let sizes = SizeDist::parse(&a.size)?;
        let thresholds = a.threshold.iter().map(|t| Threshold::parse(t)).collect::<Result<Vec<_>, _>>()?;
        let sources = match a.source_addrs.trim() {
            "auto" => None,
            list => Some(
                list.split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<IpAddr>()
                            .with_context(|| format!("--source-addrs: '{s}' is not an IP address"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            ),
        };
        Ok(Spec {
            shard,
            connections,
            rate: a.rate.map(|r| shard.rate(r, a.connections)),
            messages,
            duration,
            sizes,
            thresholds,
            sources,
            // N connections churning R a second in total: each lives N/R seconds (a shard has its share of both)
            lifetime: a.churn.map(|c| Duration::from_secs_f64(a.connections as f64 / c)),
        })
    }
}

/// `--io io-uring` with a `wss://` target: refused, said why (the io_uring driver does not speak
/// TLS); `Some`: the exit code.
pub(super) fn refuse_tls_on_uring(io: IoMode, endpoints: &[Endpoint]) -> Option<ExitCode> {
    if io == IoMode::IoUring && endpoints.iter().any(|ep| ep.tls.is_some()) {
        eprintln!("wsharness: the io_uring driver does not speak TLS: load wss:// URLs with --io auto or --io tokio");
        return Some(ExitCode::from(EXIT_USAGE));
    }
    None
}

/// Runs `wsharness load` (builds its own runtime).
pub fn main(args: LoadArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = args.scenario.clone() {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let fd_limit = raise_fd_limit();
        let code = runtime.block_on(super::scenario::run_scenario(&args, &file, fd_limit));
        // connections still closing must not hold the exit
        runtime.shutdown_timeout(Duration::from_secs(1));
        return code;
    }
    let spec = Spec::from_args(&args)?;
    let fd_limit = raise_fd_limit();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.threads {
        builder.worker_threads(n);
    }
    let runtime = builder.build().context("cannot start the tokio runtime")?;
    let code = runtime.block_on(run(args, spec, fd_limit));
    // connections still closing must not hold the exit
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn run(args: LoadArgs, spec: Spec, fd_limit: (u64, u64)) -> anyhow::Result<ExitCode> {
    // the targets: URLs, or the embedded reference server on a free port
    let embedded = if args.urls.is_empty() {
        let server = reference_server::Server::bind("127.0.0.1:0".parse()?, reference_server::Config::default())
            .await
            .context("cannot start the embedded reference server")?
            .spawn();
        Some(server)
    } else {
        None
    };
    let urls: Vec<String> = match &embedded {
        Some(s) => vec![s.url()],
        None => args.urls.clone(),
    };
    let endpoints = match resolve_endpoints(&args, &urls).await {
        Ok(endpoints) => endpoints,
        Err(code) => return Ok(code),
    };
    if let Some(code) = refuse_tls_on_uring(args.io, &endpoints) {
        return Ok(code);
    }
    // permessage-deflate: a server that declines the offer (or answers it wrongly) fails the run now
    let negotiated = match &args.deflate {
        Some(offer) => match probe_deflate_all(offer, &endpoints, &urls, args.timeout).await {
            Ok(n) => n,
            Err(code) => return Ok(code),
        },
        None => None,
    };

    // a run must not be lost at its end to an unwritable --out
    let out_dir = args.out.clone().unwrap_or_else(|| default_out_dir(SystemTime::now()));
    if let Err(e) = super::render::ensure_writable_dir(&out_dir) {
        eprintln!("wsharness: {e:#} (choose another folder with --out)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }

    // file descriptors: one per connection (two with the embedded server in this process)
    let per_conn = if embedded.is_some() { 2 } else { 1 };
    let fds_needed = spec.connections * per_conn + FD_RESERVE;
    let fds_short = fds_needed > fd_limit.0;
    if args.io == IoMode::Tokio && fds_short {
        eprintln!(
            "wsharness: {} connections need {fds_needed} file descriptors, the limit is {} (hard {}): \
             use --io auto, fewer connections, or --shard",
            spec.connections, fd_limit.0, fd_limit.1
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    if embedded.is_some() && fds_short {
        eprintln!(
            "wsharness: {} connections need more file descriptors than the limit ({}) allows with the embedded \
             server in this process: run reference servers in their own processes and give their URLs",
            spec.connections, fd_limit.0
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    // io_uring where the kernel allows it (auto, io-uring); tokio otherwise (auto falls back when the
    // descriptors suffice)
    let uring_pool = match args.io {
        IoMode::Tokio => None,
        // churned connections reopen in their tokio task
        IoMode::Auto if spec.lifetime.is_some() && !fds_short => None,
        IoMode::Auto | IoMode::IoUring => match crate::load::uring::Pool::<Ctx>::start(spec.connections, fd_limit.0) {
            Ok(pool) => Some(Arc::new(pool)),
            Err(e) if args.io == IoMode::IoUring || fds_short => {
                eprintln!(
                    "wsharness: io_uring is not available ({e}); {} connections need {fds_needed} file descriptors \
                     (limit {}): use --io tokio{}",
                    spec.connections,
                    fd_limit.0,
                    if fds_short { " with fewer connections, or --shard" } else { "" }
                );
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            Err(_) => None,
        },
    };
    let uring = uring_pool.is_some();
    let sources = match &spec.sources {
        Some(list) => list.clone(),
        None => {
            let per_target = spec.connections.div_ceil(endpoints.len() as u64);
            endpoints.first().map(|ep| auto_source_addrs(per_target, ep.addr.ip())).unwrap_or_default()
        }
    };

    // payloads, and the bodies replayed with permessage-deflate, are built before the clock starts
    let book = PayloadBook::new(spec.sizes.max() as usize, args.binary);
    let deflate = args.deflate.clone().map(DeflatePlan::new);
    let deflate_summary = deflate.as_ref().map(|d| DeflateSummary {
        negotiated: negotiated.as_ref().map(describe),
        compression: negotiated.map_or(Mode::ContextTakeover, |n| d.mode(&book, &spec.sizes, &n)).as_str().into(),
        ..DeflateSummary::default()
    });
    let clock = Clock::start();
    let ramp_ns = args.ramp_up.as_nanos() as u64;
    let start_ns = ramp_ns + args.warmup.as_nanos() as u64;
    let window = Window { start_ns, end_ns: spec.duration.map_or(u64::MAX, |d| start_ns + d.as_nanos() as u64) };
    let pace = match spec.rate {
        Some(r) => Pace::Open { period_ns: spec.connections as f64 * 1e9 / r },
        None => Pace::Closed,
    };
    let plan = Plan {
        book,
        sizes: spec.sizes.clone(),
        in_flight: args.in_flight as usize,
        pace,
        ping_interval_ns: args.ping_interval.map(|p| p.as_nanos() as u64),
        timeout_ns: args.timeout.as_nanos() as u64,
        window,
        tickets: spec.messages.map(|m| AtomicI64::new(m as i64)),
        deflate,
    };
    let ctx = Ctx {
        plan,
        clock,
        collector: Collector::new(),
        endpoints,
        sources: sources.clone(),
        connections: spec.connections,
        shard: spec.shard,
        ramp_ns,
        connect_timeout: args.timeout,
        handshake_slots: Semaphore::new(args.max_handshakes as usize),
        stop_send: CancellationToken::new(),
        abort: CancellationToken::new(),
        interrupted: AtomicBool::new(false),
        park: std::sync::OnceLock::new(),
        lifetime_ns: spec.lifetime.map(|l| l.as_nanos() as u64),
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let ctx = Arc::new(ctx);
    if let Some(pool) = &uring_pool {
        let _ = ctx.park.set(Box::new(Arc::clone(pool)));
        pool.attach(Arc::clone(&ctx));
    }

    let progress = ProgressLine::new(args.quiet);
    let outcome =
        run::run(Arc::clone(&ctx), spec.duration.map(|d| d.as_nanos() as u64), spec.messages, |p| progress.update(p))
            .await;
    progress.finish();
    if let Some(pool) = uring_pool {
        pool.stop();
    }

    let settings = LoadSettings {
        connections: spec.connections,
        ramp_up_ms: args.ramp_up.as_millis() as u64,
        duration_ms: spec.duration.map(|d| d.as_millis() as u64),
        messages: spec.messages,
        warmup_ms: args.warmup.as_millis() as u64,
        loop_mode: if spec.rate.is_some() { "open" } else { "closed" }.into(),
        in_flight: args.in_flight,
        rate_per_s: spec.rate,
        size: spec.sizes.to_string(),
        message_type: if args.binary { "binary" } else { "text" }.into(),
        timeout_ms: args.timeout.as_millis() as u64,
        ping_interval_ms: args.ping_interval.map(|p| p.as_millis() as u64),
        shard: args.shard.as_ref().map(|_| spec.shard.to_string()),
        deflate: args.deflate.as_ref().map(|o| o.header_value().to_owned()),
        churn_per_s: args.churn.map(|c| spec.shard.rate(c, args.connections)),
    };
    let generator = GeneratorInfo {
        io: if uring { "io_uring" } else { "tokio" }.into(),
        threads: threads as u64,
        fd_limit: [fd_limit.0, fd_limit.1],
        source_addrs: sources.iter().map(|s| s.to_string()).collect(),
        ..GeneratorInfo::default()
    };
    let target = LoadTarget { urls, embedded: embedded.is_some() };
    let (report, hists) = report::build(&outcome, target, settings, generator, &spec.thresholds, deflate_summary)
        .context("cannot encode the latency histograms")?;
    let written = super::render::write_run_outputs(&out_dir, &reports::Report::Load(Box::new(report.clone())));
    let json = out_dir.join("report.json");
    report::print(&report, &hists, &json.display().to_string());
    if let Some(server) = embedded {
        let _ = tokio::time::timeout(Duration::from_secs(3), server.shutdown()).await;
    }
    match written {
        Ok(written) => crate::outln!("html: {}\njunit: {}", written.html.display(), written.junit.display()),
        Err(e) => {
            eprintln!("wsharness: {e:#}; the summary above is all that is left of this run");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    }
    if outcome.interrupted {
        eprintln!("wsharness: interrupted; the report is marked incomplete");
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(threshold_exit(&report.thresholds))
}

/// One handshake offering `offer` to each endpoint: what the first negotiated, or exit 2 when one
/// declines or answers against RFC 7692 (said on stderr). Other failures are left to the run,
/// which counts them connection by connection.
/// Parses, resolves and reaches every URL; a wss:// one also completes one TLS and WebSocket handshake,
/// so that a certificate problem is one line, not an error per connection. `Err`: the problem is printed.
async fn resolve_endpoints(args: &LoadArgs, urls: &[String]) -> Result<Vec<Endpoint>, ExitCode> {
    let usage = |message: String| {
        eprintln!("wsharness: {message}");
        ExitCode::from(EXIT_USAGE)
    };
    let extras = Arc::new(RequestExtras { subprotocols: args.subprotocols.clone(), headers: args.headers.clone() });
    let mut tls = None;
    let mut endpoints = Vec::new();
    for url in urls {
        let target = Target::parse(url).map_err(|e| usage(e.to_string()))?;
        if target.secure && tls.is_none() {
            let connector = crate::conformance::tls::connector(args.tls.insecure);
            tls = Some(connector.map_err(|e| usage(format!("{:#}", anyhow::Error::new(e))))?);
        }
        let resolved = Endpoint::resolve(&target, tls.as_ref(), Arc::clone(&extras)).await;
        let ep = resolved.map_err(|e| usage(format!("cannot resolve {}: {e}", target.authority())))?;
        // an unreachable target is a usage error, found fast, not thousands of refused connections
        match tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(ep.addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(usage(format!("cannot reach {} ({url}): {e}", ep.addr))),
            Err(_) => return Err(usage(format!("cannot reach {} ({url}): no answer within 3 s", ep.addr))),
        }
        if ep.tls.is_some() {
            let clock = Clock::start();
            let timeout = args.timeout.min(Duration::from_secs(5));
            match crate::load::connect::open(&ep, None, &clock, timeout, None).await {
                Ok(mut opened) => {
                    // a masked close 1000 (RFC 6455 §5.5.1); the reply is not awaited
                    let _ = opened.stream.write_all(&[0x88, 0x82, 0x5a, 0x3c, 0x96, 0x0f, 0x59, 0xd4]).await;
                }
                Err(LoadError::Tls(reason)) => {
                    let hint = if args.tls.insecure { "" } else { " (a self-signed certificate? add --insecure)" };
                    return Err(usage(format!("{url}: the TLS handshake failed: {reason}{hint}")));
                }
                Err(e) => return Err(usage(format!("{url}: the opening handshake over TLS failed: {}", e.detail()))),
            }
        }
        endpoints.push(ep);
    }
    Ok(endpoints)
}

async fn probe_deflate_all(
    offer: &Offer,
    endpoints: &[Endpoint],
    urls: &[String],
    timeout: Duration,
) -> Result<Option<Negotiated>, ExitCode> {
    let mut negotiated = None;
    for (ep, url) in endpoints.iter().zip(urls) {
        match probe_deflate(ep, offer, timeout.min(Duration::from_secs(5))).await {
            Ok(n) => {
                negotiated.get_or_insert(n);
            }
            Err(Failed::Deflate(refusal)) => {
                eprintln!("wsharness: {url}: {refusal}");
                return Err(ExitCode::from(EXIT_USAGE));
            }
            Err(Failed::Load(_)) => {}
        }
    }
    Ok(negotiated)
}

pub(crate) fn default_out_dir(started: SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(started).to_string().replace(':', "");
    PathBuf::from("reports").join(stamp)
}

/// Says which thresholds broke and by how much, on stderr; exit 1 if any did, else 0.
pub fn threshold_exit(thresholds: &[ThresholdResult]) -> ExitCode {
    let breached: Vec<_> = thresholds.iter().filter(|t| !t.passed).collect();
    for t in &breached {
        eprintln!(
            "wsharness: threshold {} breached: observed {}, {}",
            t.expr,
            t.observed,
            t.detail.as_deref().unwrap_or("")
        );
    }
    ExitCode::from(if breached.is_empty() { EXIT_OK } else { EXIT_FAILED })
}
