//! The live progress line: elapsed, connections, echoes/s and p99 of the last second, the worst
//! one-second p99 so far (hidden when stdout is not a terminal, or with `--quiet`).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::run::Progress;
use super::threshold::format_ns;

/// The progress display of one run.
pub struct ProgressLine {
    bar: ProgressBar,
}

impl ProgressLine {
    /// A line on stderr, or a hidden one.
    pub fn new(quiet: bool) -> ProgressLine {
        if quiet || !std::io::stdout().is_terminal() || !std::io::stderr().is_terminal() {
            return ProgressLine { bar: ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()) };
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
            bar.set_style(style);
        }
        ProgressLine { bar }
    }

    /// Shows one tick.
    pub fn update(&self, p: &Progress) {
        self.bar.set_message(line(p));
        self.bar.tick();
    }

    /// Removes the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The text of one progress line.
pub fn line(p: &Progress) -> String {
    format!(
        "{:>6.1}s {:<8} connections {}/{}  last 1s: {} echoes/s, p99 {}  worst 1s p99 {}  errors {}",
        p.elapsed_s,
        p.phase,
        p.open,
        p.connections,
        human_count(p.rate),
        format_ns(p.p99_us as f64 * 1e3),
        format_ns(p.worst_p99_us as f64 * 1e3),
        p.errors
    )
}

/// 1234567 as `1.23M`, 52000 as `52.0k`.
pub fn human_count(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_elapsed_connections_rate_and_p99() {
        let p = Progress {
            elapsed_s: 3.0,
            open: 50,
            connections: 50,
            rate: 1_234_567.0,
            p99_us: 120,
            worst_p99_us: 900,
            errors: 0,
            phase: "measured",
        };
        let l = line(&p);
        assert!(l.contains("3.0s") && l.contains("50/50") && l.contains("1.23M echoes/s"), "{l}");
        assert!(l.contains("last 1s: ") && l.contains("p99 120µs") && l.contains("worst 1s p99 900µs"), "{l}");
    }
}
