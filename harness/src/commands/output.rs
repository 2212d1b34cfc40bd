//! Standard output that a closed pipe cannot break (`wsharness cases list | head -1`).
//!
//! Rust's `println!` panics when stdout is a pipe whose reader went away. Every line a command
//! prints goes through [`outln!`] instead: a broken pipe stops further output quietly and the
//! command carries on to its own exit code (a list exits 0; a run still writes its reports and
//! exits with its verdict).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader has gone away: nothing more is written.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout; a broken pipe (or any other write error) ends output for the rest of the run.
pub fn print(args: std::fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_fmt(args).and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether stdout's reader went away.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// `println!` that a closed pipe ends quietly instead of with a panic.
#[macro_export]
macro_rules! outln {
    () => { $crate::commands::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::commands::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that a closed pipe ends quietly instead of with a panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::commands::output::print(format_args!($($arg)*)) };
}
