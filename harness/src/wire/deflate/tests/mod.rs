//! Wire bytes written as data: the examples of RFC 7692 §7.2.3, negotiation tables,
//! bombs and corrupt data, and flate2 against our decoder on random data.

mod negotiation;
mod stream;
