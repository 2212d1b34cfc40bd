//! The reports crate's integration tests, one binary (ripgrep's shape): one module per concern.
//! Each module opens with a line of what it shows.

mod common;

mod compare_conformance_runs;
mod html_conformance_page;
mod junit_matches_the_golden_file;
mod load_reports;
mod report_stays_under_its_size_budget;
mod schema_accepts_our_reports_and_refuses_drift;
