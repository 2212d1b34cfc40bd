//! Shared test support for the `wsharness` integration tests.
//!
//! - [`flawed_server`]: a small RFC 6455 echo server, correct by default, with one
//!   switchable flaw per rule, so that a test can show every case able to fail.
//! - [`flawed_client`]: a strict RFC 6455 client playing Autobahn's runner contract (echo every message), correct
//!   by default, with one switchable flaw per rule: the twin of `flawed_server` for testing clients.
//! - [`flawed_client_probe`]: a scripted server that shows on the wire what a client does (for `flawed_client`).
//! - [`hostile_server`]: servers that flood, stall, die or answer 404: the harness must survive them.
//! - [`process`]: runs the binary and measures its time and peak memory from outside.
//! - [`turn`]: tests that measure time or memory take turns, module by module.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

/// Declares a fixture's `Flaw` enum (the flawed server's, the flawed client's) from one list, so that each variant's
/// doc line, `Flaw::rule` and `Flaw::name` are the same text and `Flaw::ALL` cannot miss a variant.
macro_rules! flaws {
    ($( $(#[doc = $doc:literal])+ $name:ident, )+) => {
        /// One broken rule. Each variant's doc line names the RFC rule it breaks
        /// ([`Flaw::rule`] returns the same line).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Flaw {
            $( $(#[doc = $doc])+ $name, )+
        }

        impl Flaw {
            /// Every flaw, in declaration order.
            pub const ALL: &'static [Flaw] = &[$(Flaw::$name,)+];

            /// The doc line of the variant: the RFC rule it breaks and how.
            pub fn rule(self) -> &'static str {
                match self {
                    $( Flaw::$name => concat!($($doc),+).trim_start(), )+
                }
            }

            /// The variant's name, as written in the source (`"NoPong"`).
            pub fn name(self) -> &'static str {
                match self {
                    $( Flaw::$name => stringify!($name), )+
                }
            }
        }
    };
}

pub mod flawed_client;
pub mod flawed_client_probe;

pub mod flawed_server;
pub mod hostile_server;
pub mod process;
pub mod utf8;

use std::sync::{Condvar, Mutex, MutexGuard};

/// Whose turn it is: the module whose tests run, and how many of them are running now.
static TURN: Mutex<(Option<&'static str>, usize)> = Mutex::new((None, 0));
/// Signalled when a module's last running test ends.
static TURN_ENDED: Condvar = Condvar::new();

fn turn_state() -> MutexGuard<'static, (Option<&'static str>, usize)> {
    // a test that panicked while holding the lock left the state consistent: the counts are updated atomically
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until no test of another module is running, then runs in `module`'s turn until the guard drops.
///
/// The tests of one module run in parallel, as they did when each module was a test binary of its own; tests
/// of different modules that measure time or memory do not skew each other (a module's tests all start before
/// the next module's, so one module's turn always ends).
pub fn turn(module: &'static str) -> Turn {
    let mut state = turn_state();
    while matches!(state.0, Some(m) if m != module) {
        state = TURN_ENDED.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    state.0 = Some(module);
    state.1 += 1;
    Turn
}

/// A test's share of its module's turn; the turn ends when the module's last running test drops its share.
pub struct Turn;

impl Drop for Turn {
    fn drop(&mut self) {
        let mut state = turn_state();
        state.1 -= 1;
        if state.1 == 0 {
            state.0 = None;
            TURN_ENDED.notify_all();
        }
    }
}
