//! Case files: the model, the loader and its validation.
//!
//! Cases are data, not code: TOML files under `cases/`, one per RFC section
//! and topic, documented field by field in `cases/README.md`. A file can
//! generate a family of cases from a matrix, so large families stay a few
//! lines of data. Loading validates everything and reports each mistake as
//! `file:line: message`.

mod load;
mod model;
mod raw;

pub use load::{check_unique_ids, collect, load_dir, parse_cases, CaseError};
pub use model::{Case, Delivery, Expectation, Fill, Handshake, ReadPace, Request, Source, Step};
