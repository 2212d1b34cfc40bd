//! The command line, as clap parses it (stage one); the commands validate it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Tells the author of a WebSocket server, with evidence, whether it speaks
/// RFC 6455 correctly.
///
/// Exit codes: 0 every case within --fail-on, 1 cases failed, 2 usage error,
/// bad case file or unreachable target, 130 interrupted (the report is still
/// written, marked incomplete).
#[derive(Debug, Parser)]
#[command(name = "wsharness", version)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance cases against a server (no URL: the embedded reference server).
    Conformance(ConformanceArgs),
    /// List or validate case files.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Re-render a stored report.json as HTML and JUnit XML (no flag: both, beside the JSON).
    Render(RenderArgs),
    /// Compare two reports of the same kind; exit 1 on a regression, 2 on unreadable input.
    Compare(CompareArgs),
}

/// `wsharness render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The report.json to render.
    pub report: PathBuf,
    /// Write the HTML page here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write JUnit XML here (conformance reports).
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

fn parse_percent(s: &str) -> Result<f64, String> {
    reports::compare::parse_percent(s)
}

/// `wsharness conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// ws://host:port/path of the server under test; omitted: start the embedded reference server.
    pub url: Option<String>,
    /// Run only cases whose id matches (repeatable; `!GLOB` leaves cases out), e.g. 'rfc6455/5.2/*'.
    #[arg(long, value_name = "GLOB")]
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
    /// Exit 1 when a case is at least this bad.
    #[arg(long, value_enum, default_value_t = FailOn::Failed)]
    pub fail_on: FailOn,
    /// A folder of case files to add to the built-in ones (same id: replaces).
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// For wss:// targets: accept any certificate (self-signed test servers).
    #[arg(long)]
    pub insecure: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The gate of `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// FAILED or ERRORED cases, or a failed close behaviour.
    Failed,
    /// Also NON-STRICT cases.
    NonStrict,
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
