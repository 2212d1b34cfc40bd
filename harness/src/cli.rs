//! The command line, as clap parses it (stage one); the commands validate it.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Tells the author of a WebSocket server, with evidence, whether it speaks
/// RFC 6455 correctly.
///
/// Exit codes: 0 every case within --fail-on, 1 cases failed, 2 usage error,
/// bad case file or unreachable target, 130 interrupted (the report is still
/// written, marked incomplete).
#[derive(Debug, Parser)]
#[command(name = "wsharness", version, long_version = LONG_VERSION)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `wsharness --version`: the tool's version and the case library's (the embedded case files, counted and
/// fingerprinted by `build.rs`: two binaries with the same fingerprint run the same cases).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncase library: ",
    env!("WSHARNESS_CASE_FILES"),
    " case files embedded, fingerprint ",
    env!("WSHARNESS_CASES_FINGERPRINT"),
    " (`wsharness cases list` lists them)"
);

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance cases against a server (no URL: the embedded reference server).
    Conformance(ConformanceArgs),
    /// Test WebSocket clients: serve the cases through Autobahn's fuzzingserver API on a loopback port.
    Serve(ServeArgs),
    /// Test a WebSocket client by launching it once per case (`--exec 'CMD {url}'`).
    ClientConformance(ClientConformanceArgs),
    /// List or validate case files.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Re-render a stored report.json as HTML and JUnit XML (no flag: both, beside the JSON).
    Render(RenderArgs),
    /// Compare two reports of the same kind; exit 1 on a regression, 2 on unreadable input.
    Compare(CompareArgs),
    /// Put several conformance reports side by side: a case per row, a report per column (Autobahn's view of
    /// several servers); exit 2 on unreadable input.
    Matrix(MatrixArgs),
    /// Load a server with many connections and measure echo latency (no URL: the embedded reference server).
    Load(Box<LoadArgs>),
    /// Combine the report.json files of load shards into one (histograms added exactly).
    Merge(MergeArgs),
    /// Print the completion script for a shell (e.g. `wsharness completions bash > /etc/bash_completion.d/wsharness`).
    Completions(CompletionsArgs),
    /// Print the man page, in roff (e.g. `wsharness man > wsharness.1; man ./wsharness.1`).
    Man,
}

/// `wsharness completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `wsharness render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The report.json to render.
    pub report: PathBuf,
    /// Write the HTML page here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write JUnit XML here (a testcase per conformance case, or per load threshold).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `wsharness compare`.
///
/// Exit codes: 0 no regression, 1 a regression beyond the thresholds, 2
/// unreadable input (not a report, another schema version, different kinds).
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline report.json.
    pub base: PathBuf,
    /// The report.json to judge against it.
    pub new: PathBuf,
    /// How much a load metric may get worse before it is a regression (latency up, throughput down).
    #[arg(long, value_name = "PERCENT", default_value = "10%", value_parser = parse_percent)]
    pub max_regression: f64,
    /// Also write the comparison as an HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `wsharness matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// The report.json files, two or more, in column order.
    #[arg(required = true, num_args = 2..)]
    pub reports: Vec<PathBuf>,
    /// Also write the matrix as an HTML page (every case; the terminal lists those that differ).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    reports::compare::parse_percent(s)
}

/// TLS options of the commands that connect to wss:// URLs (one definition for all of them).
#[derive(Debug, Clone, Copy, Args)]
pub struct TlsArgs {
    /// For wss:// targets: accept any certificate (self-signed test servers); the server must still
    /// prove it holds the certificate's key.
    #[arg(long)]
    pub insecure: bool,
}

/// `wsharness conformance`.
#[derive(Debug, Args)]
#[command(after_long_help = reports::verdict::meaning::plain_text())]
pub struct ConformanceArgs {
    /// ws://host:port/path of the server under test; omitted: start the embedded reference server. With
    /// --server-cmd, `{port}` in it is the port given to the server (default ws://127.0.0.1:{port}/).
    pub url: Option<String>,
    /// What to run, how, and where the reports go.
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// TLS for wss:// targets.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Start the server under test with this command ({port}: a free loopback port), restart it when it
    /// dies, and name the case that crashed it (the cases in flight run again, alone), e.g.
    /// --server-cmd 'php server.php {port}'.
    #[arg(long, value_name = "CMD")]
    pub server_cmd: Option<String>,
}

/// The flags of every conformance run, whichever side is tested (`conformance`, `serve`,
/// `client-conformance`).
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Run only matching cases (repeatable; a leading `!` leaves them out): a glob on the case id
    /// ('rfc6455/5.2/*'), a section number ('5.2' with its subsections, '7.*'), or an Autobahn id ('autobahn:6.4.*').
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,
    /// Cases run at once (default: four per core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Time budget of one case, its close included.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub case_timeout: Duration,
    /// Where report.json, report.html and junit.xml go (default: reports/<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 1 when a case fails this gate.
    #[arg(long, value_name = "GATE", default_value_t = FailOn::default(), value_parser = fail_on_parser())]
    pub fail_on: FailOn,
    /// A folder of case files to add to the built-in ones (same id: replaces).
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `wsharness serve`: plays the server side of the cases against the clients that connect, through
/// Autobahn|Testsuite's fuzzingserver URL API.
///
/// A client's runner asks `/getCaseCount`, connects to `/runCase?case=N&agent=NAME` for each case and
/// echoes every message until the server closes, then asks `/updateReports?agent=NAME`. Reports go to
/// --out: index.json in Autobahn's layout, and per agent report.json, report.html and junit.xml.
/// Ctrl-C (or `/stopServer`) stops the server and writes the reports.
///
/// Exit codes: 0 every case run within --fail-on, 1 cases failed, 2 usage error or bad case file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (loopback by default: the cases are hostile by design).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The port to listen on (Autobahn's fuzzingserver uses 9001; 0 picks a free one).
    #[arg(long, default_value_t = 9001)]
    pub port: u16,
    /// What to run, how, and where the reports go.
    #[command(flatten)]
    pub suite: SuiteArgs,
}

/// `wsharness client-conformance --exec 'CMD {url}'`: launches the client under test once per case.
///
/// `{url}` in the command becomes the case's URL (`ws://127.0.0.1:PORT/runCase?case=N&agent=NAME`);
/// the command is split into words as a POSIX shell would, without running a shell. The client
/// echoes every message until the server closes (an Autobahn runner's echo loop is such a client);
/// it is killed, with its process group, at the end of the case's budget.
///
/// Exit codes: 0 every case within --fail-on, 1 cases failed, 2 usage error, bad case file or a
/// command that cannot be started, 130 interrupted.
#[derive(Debug, Args)]
pub struct ClientConformanceArgs {
    /// The client's command line, with `{url}` where the case's URL goes.
    #[arg(long, value_name = "COMMAND")]
    pub exec: String,
    /// The client's name in the reports and URLs.
    #[arg(long, default_value = "exec")]
    pub agent: String,
    /// How long a launched client has to connect.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// What to run, how, and where the reports go.
    #[command(flatten)]
    pub suite: SuiteArgs,
}

/// The gate of `--fail-on` ([`reports::verdict::FailOn`], where the rule lives).
pub use reports::verdict::FailOn;

/// `--fail-on`: the values of [`FailOn`] with their help, parsed by its `FromStr`.
fn fail_on_parser() -> impl TypedValueParser<Value = FailOn> {
    let values = FailOn::ALL.map(|g| PossibleValue::new(g.as_str()).help(g.describe()));
    PossibleValuesParser::new(values).try_map(|s| s.parse::<FailOn>())
}

/// `wsharness cases ...`.
#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// List the cases.
    List {
        /// Only ids matching (repeatable; `!GLOB` excludes).
        #[arg(long, value_name = "GLOB")]
        filter: Vec<String>,
        /// JSON: id, title, section, rfc, autobahn of every case.
        #[arg(long)]
        json: bool,
        /// A folder of case files to add to the built-in ones.
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
    },
    /// Check case files and report each mistake as file:line: message (no DIR: the built-in ones).
    Validate {
        /// The folder to check.
        dir: Option<PathBuf>,
    },
}

/// `wsharness load`.
///
/// Exit codes: 0 done and every --threshold met, 1 a threshold breached, 2 usage error or
/// unreachable target, 130 interrupted (the report is still written, marked incomplete).
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// ws://host:port/path of the server(s); several URLs share the connections round-robin;
    /// omitted: start the embedded reference server in this process.
    pub urls: Vec<String>,
    /// Connections to open.
    #[arg(long, short = 'c', default_value_t = 10)]
    pub connections: u64,
    /// Open the connections at an even pace over this long (0: as fast as handshakes go).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub ramp_up: Duration,
    /// Length of the measured phase (after ramp-up and warmup).
    #[arg(long, short = 'd', value_parser = humantime::parse_duration, conflicts_with = "messages")]
    pub duration: Option<Duration>,
    /// Measured messages in total, instead of a duration.
    #[arg(long)]
    pub messages: Option<u64>,
    /// Measured but kept out of the results, after the ramp-up.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Payload bytes: 64, 1KiB, a uniform range 64..1024, or weights 64:90,1024:10.
    #[arg(long, default_value = "64")]
    pub size: String,
    /// Text messages (the default).
    #[arg(long, conflicts_with = "binary")]
    pub text: bool,
    /// Binary messages.
    #[arg(long)]
    pub binary: bool,
    /// Messages outstanding per connection at most (closed loop: always this many).
    #[arg(long, default_value_t = 1)]
    pub in_flight: u64,
    /// Open loop: messages per second in total, sent at their scheduled times; latency counts from
    /// the schedule (coordinated omission corrected).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Longest wait for a connect, a handshake, an echo, a pong or a close reply.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Send a ping on every connection this often and time the pong.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ping_interval: Option<Duration>,
    /// Offer permessage-deflate (RFC 7692) and load with compressed messages; PARAMS are the
    /// offer's parameters as written after the extension name (alone: client_max_window_bits;
    /// `--deflate=`: none), e.g. --deflate='client_no_context_takeover; server_max_window_bits=10'.
    ///
    /// Messages are compressed with the negotiated window and context (zlib level 1; with
    /// client_no_context_takeover each size's body is compressed once and replayed), RSV1 on each;
    /// echoes are inflated as they arrive and verified. The summary and report add wire and
    /// plaintext bytes and the compression ratio each way. A server that declines the offer, or
    /// answers it against RFC 7692, fails the run before it starts (exit 2). Both --io drivers
    /// support it.
    #[arg(
        long,
        value_name = "PARAMS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = crate::load::deflate::DEFAULT_PARAMS,
        value_parser = crate::load::deflate::Offer::parse,
    )]
    pub deflate: Option<crate::load::deflate::Offer>,
    /// Run a scenario file instead of echo load: roles of connections that send templated messages
    /// and expect replies matched by JSON field or regular expression, several in flight and in any
    /// order, with a histogram per step (docs/load.md, Scenarios). URL: the server's base URL.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Connection churn: close and reopen this many connections per second in total (each connection
    /// lives connections/RATE seconds, staggered, then closes cleanly after its last echo and opens
    /// again); every reopening is a timed handshake. Driven by the tokio driver.
    #[arg(long, value_name = "PER_SECOND")]
    pub churn: Option<f64>,
    /// Offer this subprotocol in the opening handshake (repeatable, in order of preference); a 101
    /// that selects one not offered fails the handshake (RFC 6455 §4.1).
    #[arg(long = "subprotocol", value_name = "NAME")]
    pub subprotocols: Vec<String>,
    /// An extra header of the opening handshake, repeatable: -H 'Authorization: Bearer abc'.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = crate::load::connect::parse_header)]
    pub headers: Vec<(String, String)>,
    /// TLS for wss:// targets (driven by the tokio driver: `--io auto` picks it for them).
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Pass/fail condition, repeatable: p99<5ms, p99.9<20ms, errors==0, throughput>50000.
    #[arg(long, value_name = "EXPR")]
    pub threshold: Vec<String>,
    /// Where report.json goes (default: reports/<timestamp>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run shard i of N (0-based): connections, rate and --messages are split.
    #[arg(long, value_name = "i/N")]
    pub shard: Option<String>,
    /// Local addresses to connect from, comma-separated, or `auto` (spread over 127.0.0.x when one
    /// loopback target needs more connections than there are ephemeral ports).
    #[arg(long, default_value = "auto", value_name = "auto|IP,IP,...")]
    pub source_addrs: String,
    /// Handshakes in progress at once, at most.
    #[arg(long, default_value_t = 512)]
    pub max_handshakes: u64,
    /// How connections are driven: `auto` (io_uring where the kernel allows it, else tokio), `tokio`
    /// (one task and one file descriptor per connection), or `io-uring`.
    #[arg(long, value_enum, default_value_t = IoMode::Auto)]
    pub io: IoMode,
    /// Runtime worker threads (default: one per core available).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IoMode {
    /// io_uring where the kernel allows it, tokio otherwise.
    Auto,
    /// One tokio task and one file descriptor per connection.
    Tokio,
    /// Connections parked in io_uring fixed-file tables after their handshake (Linux).
    IoUring,
}

/// `wsharness merge`.
///
/// Exit codes: 0 merged (and every --threshold met), 1 a threshold breached, 2 a file is missing or
/// not a load report.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' report.json files.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The merged report file.
    #[arg(long)]
    pub out: PathBuf,
    /// Thresholds to judge on the merged numbers (default: those of the first report).
    #[arg(long, value_name = "EXPR")]
    pub threshold: Vec<String>,
}
