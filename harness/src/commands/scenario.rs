//! `wsharness load --scenario FILE [URL]`: a scenario run, its report and its thresholds.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use reports::load::{
    encode_histogram, new_histogram, DecodedHistograms, ErrorCounts, GeneratorInfo, Histograms, LoadReport,
    LoadSettings, LoadSummary, LoadTarget, Percentiles,
};
use reports::scenario::{DeliveryReport, RoleReport, ScenarioReport, StepReport};
use reports::schedule::Schedule;

use super::{EXIT_INTERRUPTED, EXIT_USAGE};
use crate::cli::{IoMode, LoadArgs};
use crate::conformance::Target;
use crate::load::connect::{Endpoint, RequestExtras};
use crate::load::shard::Shard;
use crate::load::threshold::{format_ns, Threshold};
use crate::load::uring::Pool;
use crate::scenario::run::{run, Outcome, RunSpec, Shared};
use crate::scenario::{Role, Scenario, ScenarioError};

/// Runs the scenario of `args` (its `--scenario` is set) with a descriptor limit of `fd_limit` (soft,
/// hard); prints the summary, writes the report.
pub async fn run_scenario(args: &LoadArgs, file: &std::path::Path, fd_limit: (u64, u64)) -> anyhow::Result<ExitCode> {
    let scenario = match crate::scenario::load(file) {
        Ok(s) => s,
        Err(ScenarioError { file, line, message }) => {
            eprintln!("wsharness: {file}:{line}: {message}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(shard) => shard.unwrap_or(Shard::WHOLE),
        Err(e) => {
            eprintln!("wsharness: --shard: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let scenario = shard_of(scenario, shard);
    let thresholds = match args.threshold.iter().map(|t| Threshold::parse(t)).collect::<Result<Vec<_>, _>>() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wsharness: {e}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if args.urls.len() > 1 {
        eprintln!("wsharness: a scenario takes one URL (each role's path is appended to its host)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let embedded = match args.urls.first() {
        Some(_) => None,
        None => Some(
            reference_server::Server::bind("127.0.0.1:0".parse()?, reference_server::Config::default())
                .await
                .context("cannot start the embedded reference server")?
                .spawn(),
        ),
    };
    let base = args.urls.first().cloned().or_else(|| embedded.as_ref().map(|s| s.url())).unwrap_or_default();
    let endpoints = match endpoints(args, &scenario, &base).await {
        Ok(e) => e,
        Err(message) => {
            eprintln!("wsharness: {message}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Some(code) = super::load::refuse_tls_on_uring(args.io, &endpoints) {
        return Ok(code);
    }
    let out_dir = args.out.clone().unwrap_or_else(|| super::load::default_out_dir(SystemTime::now()));
    if let Err(e) = super::render::ensure_writable_dir(&out_dir) {
        eprintln!("wsharness: {e:#} (choose another folder with --out)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let duration = args.duration.or(scenario.duration).unwrap_or(Duration::from_secs(10));
    let warmup = if args.warmup.is_zero() { scenario.warmup } else { args.warmup };
    let uring = match rings(args.io, &scenario, &endpoints, fd_limit.0) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("wsharness: io_uring is not available ({e}): use --io tokio");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let spec = RunSpec {
        shard,
        scenario: scenario.clone(),
        endpoints,
        warmup,
        duration,
        timeout: args.timeout,
        max_handshakes: args.max_handshakes as usize,
        uring,
    };
    let outcome = run(spec).await;
    let urls = scenario_urls(&scenario, &base);
    let mut report = build(&outcome, &scenario, file, args, urls, embedded.is_some(), warmup)?;
    let hists = report.histograms.decode().context("cannot decode the histograms just written")?;
    report.thresholds = thresholds.iter().map(|t| t.judge(&report, &hists)).collect();
    print(&report);
    let written = super::render::write_run_outputs(&out_dir, &reports::Report::Load(Box::new(report.clone())))?;
    crate::outln!("report: {}", written.json.display());
    if let Some(server) = embedded {
        let _ = server.shutdown().await;
    }
    if outcome.interrupted {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(super::load::threshold_exit(&report.thresholds))
}

/// The io_uring rings for `--io auto` and `--io io-uring` (`None`: tokio drives every connection,
/// as `--io tokio` asks, or `auto` when the kernel refuses io_uring or every target is `wss://`);
/// `Err`: `--io io-uring` and the kernel refuses it.
fn rings(
    io: IoMode,
    scenario: &Scenario,
    endpoints: &[Endpoint],
    fd_soft: u64,
) -> std::io::Result<Option<Pool<Shared>>> {
    let plain = scenario.roles.iter().zip(endpoints).filter(|(_, ep)| ep.tls.is_none());
    let connections: u64 = plain.map(|(r, _)| r.connections).sum();
    match io {
        IoMode::Tokio => Ok(None),
        IoMode::Auto if connections == 0 => Ok(None),
        IoMode::Auto => Ok(Pool::start(connections, fd_soft).ok()),
        IoMode::IoUring => Pool::start(connections, fd_soft).map(Some),
    }
}

/// This shard's part of the scenario: each role's connections and rate split as `--shard` splits an
/// echo run's (a role with no connection left in this shard is dropped).
fn shard_of(mut scenario: Scenario, shard: Shard) -> Scenario {
    if shard == Shard::WHOLE {
        return scenario;
    }
    scenario.roles = scenario
        .roles
        .iter()
        .filter_map(|r| {
            let connections = shard.part(r.connections);
            let rate = r.rate.map(|rate| shard.rate(rate, r.connections));
            (connections > 0).then(|| Arc::new(Role { connections, rate, ..(**r).clone() }))
        })
        .collect();
    scenario
}

/// Each role's URL: the base URL with the role's path.
fn scenario_urls(scenario: &Scenario, base: &str) -> Vec<String> {
    scenario.roles.iter().map(|r| with_path(base, r.path.as_deref())).collect()
}

/// `ws://host:port/x` with its path replaced by `path` (kept when `None`).
fn with_path(base: &str, path: Option<&str>) -> String {
    let Some(path) = path else { return base.to_owned() };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    format!("{}{path}", &base[..host_end])
}

/// Resolves and reaches each role's endpoint, with its subprotocols and headers (and the CLI's).
async fn endpoints(args: &LoadArgs, scenario: &Scenario, base: &str) -> Result<Vec<Endpoint>, String> {
    let mut tls = None;
    let mut out = Vec::new();
    for role in &scenario.roles {
        let url = with_path(base, role.path.as_deref());
        let target = Target::parse(&url).map_err(|e| e.to_string())?;
        if target.secure && tls.is_none() {
            let connector = crate::conformance::tls::connector(args.tls.insecure);
            tls = Some(connector.map_err(|e| format!("{:#}", anyhow::Error::new(e)))?);
        }
        let mut subprotocols = role.subprotocols.clone();
        subprotocols.extend(args.subprotocols.iter().cloned());
        let mut headers = role.headers.clone();
        headers.extend(args.headers.iter().cloned());
        let extras = Arc::new(RequestExtras { subprotocols, headers });
        let ep = Endpoint::resolve(&target, tls.as_ref(), extras)
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", target.authority()))?;
        match tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(ep.addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("cannot reach {} ({url}): {e}", ep.addr)),
            Err(_) => return Err(format!("cannot reach {} ({url}): no answer within 3 s", ep.addr)),
        }
        out.push(ep);
    }
    Ok(out)
}

/// The load report of a scenario run: every step's latency together as the run's latency, each step
/// and role under `scenario`.
fn build(
    o: &Outcome,
    scenario: &Scenario,
    file: &std::path::Path,
    args: &LoadArgs,
    urls: Vec<String>,
    embedded: bool,
    warmup: Duration,
) -> anyhow::Result<LoadReport> {
    let t = &o.tally;
    let mut latency = new_histogram();
    let mut steps = Vec::new();
    for (name, s) in &t.steps {
        let _ = latency.add(&s.latency);
        let histogram = if s.latency.is_empty() { String::new() } else { encode_histogram(&s.latency)? };
        let latency_us = Percentiles::of(&s.latency);
        steps.push(StepReport {
            name: name.clone(),
            role: s.role.clone(),
            latency_us,
            timeouts: s.timeouts,
            histogram,
        });
    }
    let roles = scenario
        .roles
        .iter()
        .map(|r| {
            let counted = t.roles.get(&r.name).copied().unwrap_or_default();
            let (iterations, unsolicited) = (counted.iterations, counted.unsolicited);
            RoleReport { name: r.name.clone(), connections: r.connections, iterations, unsolicited }
        })
        .collect();
    let rate: Option<f64> = scenario.roles.iter().filter_map(|r| r.rate).reduce(|a, b| a + b);
    let measured_ms = o.measured.as_millis() as u64;
    let received = latency.len();
    let hists = DecodedHistograms {
        latency: latency.clone(),
        latency_uncorrected: new_histogram(),
        handshake: t.handshake.clone(),
        ping: new_histogram(),
        send_lag: t.send_lag.clone(),
    };
    let mut errors = ErrorCounts::default();
    for (detail, n) in &t.errors {
        errors.total += n;
        *errors.by_kind.entry(detail.split(' ').next().unwrap_or_default().to_owned()).or_default() += n;
        *errors.by_detail.entry(detail.clone()).or_default() += n;
    }
    let schedule = rate.map(|r| Schedule::judge(r, measured_ms, t.send_lag.len(), &t.send_lag, &latency));
    let mut report = LoadReport {
        schema_version: reports::SCHEMA_VERSION,
        kind: "load".into(),
        tool: format!("wsharness {}", env!("CARGO_PKG_VERSION")),
        started_at: humantime::format_rfc3339_seconds(o.started_at).to_string(),
        duration_ms: o.wall.as_millis() as u64,
        complete: !o.interrupted,
        host: crate::report::host_info(),
        command_line: crate::load::report::redacted(std::env::args()),
        target: LoadTarget { urls, embedded },
        settings: settings(scenario, args, o, warmup, rate),
        summary: LoadSummary {
            throughput_per_s: if measured_ms > 0 { received as f64 * 1e3 / measured_ms as f64 } else { 0.0 },
            messages_sent: t.sent,
            messages_received: received,
            errors: errors.total,
            connections: o.opened,
            connections_peak: o.opened,
            connections_failed: o.failed,
            connections_not_tried: 0,
            measured_ms,
            payload_bytes_sent: 0,
            deflate: None,
            schedule,
        },
        latency_us: Percentiles::default(),
        latency_uncorrected_us: Percentiles::default(),
        handshake_latency_us: Percentiles::default(),
        ping_latency_us: Percentiles::default(),
        errors,
        thresholds: Vec::new(),
        generator: GeneratorInfo { io: if o.uring { "io_uring" } else { "tokio" }.into(), ..GeneratorInfo::default() },
        series: Vec::new(),
        histograms: Histograms::encode(&hists)?,
        merged_from: Vec::new(),
        scenario: Some(ScenarioReport {
            name: scenario.name.clone(),
            file: file.display().to_string(),
            steps,
            roles,
            deliveries: deliveries(o, scenario)?,
        }),
    };
    report.set_percentiles(&hists);
    Ok(report)
}

/// Fan-out: each receive's numbers, missing messages and completion from the whole run.
fn deliveries(o: &Outcome, scenario: &Scenario) -> anyhow::Result<Vec<DeliveryReport>> {
    let highest = o.completion.highest();
    let mut out = Vec::new();
    for (name, d) in &o.tally.deliveries {
        let receivers = scenario.roles.iter().find(|r| r.name == d.role).map_or(0, |r| r.connections);
        let (completion, messages, reached_all) = o.completion.summary(receivers);
        let encode =
            |h: &hdrhistogram::Histogram<u64>| if h.is_empty() { Ok(String::new()) } else { encode_histogram(h) };
        out.push(DeliveryReport {
            name: name.clone(),
            role: d.role.clone(),
            latency_us: Percentiles::of(&d.latency),
            histogram: encode(&d.latency)?,
            received: d.received,
            untimed: d.untimed,
            duplicates: d.duplicates,
            out_of_order: d.out_of_order,
            missing: crate::scenario::fanout::missing(&d.spans, &highest),
            messages,
            reached_all,
            completion_us: Percentiles::of(&completion),
            completion_histogram: encode(&completion)?,
        });
    }
    Ok(out)
}

fn settings(scenario: &Scenario, args: &LoadArgs, o: &Outcome, warmup: Duration, rate: Option<f64>) -> LoadSettings {
    LoadSettings {
        connections: scenario.roles.iter().map(|r| r.connections).sum(),
        ramp_up_ms: 0,
        duration_ms: Some(o.measured.as_millis() as u64),
        messages: None,
        warmup_ms: warmup.as_millis() as u64,
        loop_mode: if rate.is_some() { "open" } else { "closed" }.into(),
        in_flight: scenario.roles.iter().map(|r| r.in_flight).max().unwrap_or(1),
        rate_per_s: rate,
        size: "-".into(),
        message_type: "scenario".into(),
        timeout_ms: args.timeout.as_millis() as u64,
        ping_interval_ms: None,
        shard: args.shard.clone(),
        deflate: None,
        churn_per_s: None,
    }
}

/// The terminal summary: each step's latency, each role's iterations, the thresholds.
fn print(r: &LoadReport) {
    let Some(sc) = &r.scenario else { return };
    let us = |v: u64| format_ns(v as f64 * 1e3);
    crate::outln!("scenario {} @ {}", sc.name, r.target.urls.join(", "));
    crate::outln!(
        "\n  {:<24} {:<12} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "step",
        "role",
        "matched",
        "p50",
        "p99",
        "p99.9",
        "max",
        "timeouts"
    );
    for s in &sc.steps {
        let l = &s.latency_us;
        crate::outln!(
            "  {:<24} {:<12} {:>9} {:>10} {:>10} {:>10} {:>10} {:>9}",
            s.name,
            s.role,
            l.count,
            us(l.p50),
            us(l.p99),
            us(l.p999),
            us(l.max),
            s.timeouts
        );
    }
    for d in &sc.deliveries {
        let (l, c) = (&d.latency_us, &d.completion_us);
        crate::outln!(
            "\n  fan-out {} ({}): {} deliveries, delivery p50 {} p99 {} p99.9 {} max {}; {} messages, {} reached every receiver, completion p99 {}",
            d.name, d.role, d.received, us(l.p50), us(l.p99), us(l.p999), us(l.max), d.messages, d.reached_all, us(c.p99)
        );
        crate::outln!(
            "    missing {}, duplicates {}, out of order {}, untimed (another process's publisher) {}",
            d.missing,
            d.duplicates,
            d.out_of_order,
            d.untimed
        );
    }
    crate::outln!("\n  {:<24} {:>12} {:>12} {:>12}", "role", "connections", "iterations", "unsolicited");
    for role in &sc.roles {
        crate::outln!("  {:<24} {:>12} {:>12} {:>12}", role.name, role.connections, role.iterations, role.unsolicited);
    }
    let s = &r.summary;
    crate::outln!(
        "\n  {} messages sent, {} expected messages received in {:.2}s (measured phase), {} errors",
        s.messages_sent,
        s.messages_received,
        s.measured_ms as f64 / 1e3,
        s.errors
    );
    crate::outln!("  Connections: {} opened, {} failed", s.connections, s.connections_failed);
    if r.errors.total > 0 {
        let list: Vec<String> = r.errors.by_detail.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        crate::outln!("  Errors: {}", list.join(", "));
    }
    if let Some(schedule) = &s.schedule {
        crate::outln!("  {}", schedule.line());
        if let Some(w) = schedule.warning(r.settings.connections, r.settings.in_flight) {
            crate::outln!("  WARNING: {w}");
        }
    }
    for t in &r.thresholds {
        let mark = if t.passed { "✓" } else { "✗" };
        crate::outln!(
            "  {mark} {:<28} observed {}{}",
            t.expr,
            t.observed,
            t.detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::with_path;

    #[test]
    fn a_role_path_replaces_the_url_path() {
        assert_eq!(with_path("ws://127.0.0.1:9/", Some("/rpc")), "ws://127.0.0.1:9/rpc");
        assert_eq!(with_path("wss://h:1/x/y?q", Some("/g")), "wss://h:1/g");
        assert_eq!(with_path("ws://h:1", Some("/g")), "ws://h:1/g");
        assert_eq!(with_path("ws://h:1/keep", None), "ws://h:1/keep");
    }
}
