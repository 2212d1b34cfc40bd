//! `reference-server`: the strict RFC 6455 echo server, from the command line.
//!
//! Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 2 when it cannot
//! start (a bad flag, an address in use).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use reference_server::config::parse_size;
use reference_server::deflate::DeflateConfig;
use reference_server::{Config, Server};

/// A strict, fast RFC 6455 WebSocket echo server.
///
/// Every message is echoed back as one frame of the same type (compressed if it
/// came compressed, with permessage-deflate, RFC 7692); every protocol violation
/// closes the connection with the code RFC 6455 prescribes.
#[derive(Debug, Parser)]
#[command(name = "reference-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Largest message after reassembly; larger closes with 1009 (e.g. 16MiB, 65536).
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    max_message_size: u64,
    /// Largest single frame (default: the message size).
    #[arg(long, value_parser = parse_size)]
    max_frame_size: Option<u64>,
    /// Time allowed for the opening handshake before the connection is dropped.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    handshake_timeout: Duration,
    /// Close connections idle this long with 1001 (default: never).
    #[arg(long, value_parser = humantime::parse_duration)]
    idle_timeout: Option<Duration>,
    /// After sending a close frame, how long to wait for the client's reply.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    close_timeout: Duration,
    /// Refuse connections beyond this many with 503 (default: unlimited).
    #[arg(long)]
    max_connections: Option<usize>,
    /// A subprotocol to accept (repeatable); the first one the client offers wins.
    #[arg(long = "subprotocol", value_name = "NAME")]
    subprotocols: Vec<String>,
    /// An allowed Origin (repeatable); others get 403. Default: any origin.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    allowed_origins: Vec<String>,
    /// Never negotiate permessage-deflate (RFC 7692), which is on by default.
    #[arg(long)]
    no_deflate: bool,
    /// permessage-deflate: the largest LZ77 window the server compresses with, in bits
    /// (9-15; a client may ask for less), and the one it asks clients for when they allow it.
    #[arg(long, default_value_t = 15, value_name = "BITS", value_parser = clap::value_parser!(u8).range(9..=15))]
    deflate_window_bits: u8,
    /// permessage-deflate: ask for no context takeover both ways (each message compressed on its own),
    /// which keeps no per-connection history between messages.
    #[arg(long)]
    deflate_no_context_takeover: bool,
    /// permessage-deflate: the zlib level of what the server compresses (0 stored, 1 fastest, 9 smallest).
    #[arg(long, default_value_t = reference_server::deflate::DEFAULT_LEVEL, value_name = "LEVEL",
          value_parser = clap::value_parser!(u8).range(0..=9))]
    deflate_level: u8,
    /// Runtime worker threads, or event loops (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// How connections are driven: `evloop` (an epoll loop per core over a slab of small connection
    /// states: the least memory per idle connection) or `tokio` (a task per connection).
    #[arg(long, value_enum, default_value_t = Io::Evloop)]
    io: Io,
    /// Log level.
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    log: LogLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Io {
    Evloop,
    Tokio,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn filter(self) -> tracing_subscriber::filter::LevelFilter {
        use tracing_subscriber::filter::LevelFilter;
        match self {
            LogLevel::Off => LevelFilter::OFF,
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt().with_max_level(args.log.filter()).with_writer(std::io::stderr).init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-server: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.threads == Some(0) {
        anyhow::bail!("--threads must be at least 1");
    }
    if args.max_connections == Some(0) {
        anyhow::bail!("--max-connections must be at least 1");
    }
    let config = Config {
        max_message_size: args.max_message_size,
        max_frame_size: args.max_frame_size.unwrap_or(args.max_message_size),
        handshake_timeout: args.handshake_timeout,
        idle_timeout: args.idle_timeout,
        close_timeout: args.close_timeout,
        max_connections: args.max_connections,
        subprotocols: args.subprotocols,
        allowed_origins: args.allowed_origins,
        deflate: (!args.no_deflate).then_some(DeflateConfig {
            server_max_window_bits: args.deflate_window_bits,
            client_max_window_bits: args.deflate_window_bits,
            server_no_context_takeover: args.deflate_no_context_takeover,
            client_no_context_takeover: args.deflate_no_context_takeover,
            level: args.deflate_level,
        }),
        ..Config::default()
    };
    if args.io == Io::Evloop {
        return run_evloop(args.listen, args.threads, config);
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.threads {
        builder.worker_threads(n);
    }
    let runtime = builder.build().context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        let server =
            Server::bind(args.listen, config).await.with_context(|| format!("cannot listen on {}", args.listen))?;
        let handle = server.shutdown_handle();
        // the handlers exist before the line that tells supervisors we are up
        let signals = Signals::install().context("cannot install the SIGINT/SIGTERM handlers")?;
        println!("reference-server listening on ws://{}/", server.local_addr());
        tokio::spawn(async move {
            signals.wait().await;
            tracing::info!("shutting down: closing every connection with 1001");
            handle.shutdown();
        });
        server.run().await.context("server failed")
    })
}

/// The event-loop server until SIGINT or SIGTERM, then its graceful shutdown.
fn run_evloop(listen: SocketAddr, threads: Option<usize>, config: Config) -> anyhow::Result<()> {
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // a small runtime of its own waits for the signals; the loops run on their own threads
    let signals_rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let signals =
        signals_rt.block_on(async { Signals::install() }).context("cannot install the SIGINT/SIGTERM handlers")?;
    let server = reference_server::evloop::EventLoop::start(listen, config, threads)
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("reference-server listening on ws://{}/", server.local_addr());
    signals_rt.block_on(signals.wait());
    tracing::info!("shutting down: closing every connection with 1001");
    server.shutdown();
    server.join().context("server failed")
}

/// SIGINT (Ctrl-C) and SIGTERM, registered at once so that neither can kill
/// the process by its default action once the server has said it is up.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
