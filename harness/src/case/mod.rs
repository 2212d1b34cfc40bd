//! Case files: the model, the loader and its validation.
//!
//! Cases are data, not code: TOML files under `cases/`, one per RFC section
//! and topic, documented field by field in `cases/README.md`. A file can
//! generate a family of cases from a matrix, so large families stay a few
//! lines of data. Loading validates everything and reports each mistake as
//! `file:line: message`, what a case costs included: [`limits`] holds the caps,
//! checked before anything is built or expanded. [`FrameStream`] builds a send
//! step's bytes a chunk at a time.

mod cost;
pub mod data;
pub mod limits;
mod load;
mod matrix;
mod model;
mod raw;
mod send;

pub use load::{check_unique_ids, collect, load_dir, parse_cases, CaseError};
pub use model::{
    AcceptValue, Case, Delivery, Expectation, Fill, Handshake, MessageSource, Messages, ReadPace, Reply, Request,
    Source, Step,
};
pub use send::{FrameNote, FrameStream, FrameStreamError, SendCost, MAX_CHUNK, MAX_NOTES, NOTE_HEAD};
