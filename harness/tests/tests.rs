//! The harness's integration tests, one binary (ripgrep's shape): a module per concern, each opening with a line of
//! what it shows. `support` holds the fixture servers (flawed, hostile), the flawed client and the process runner;
//! `load_support` the load generator's test servers.
//!
//! The tests of one module run in parallel; tests that measure time or memory take turns module by module
//! ([`support::turn`]), as when each module was a test binary of its own.

mod load_support;
mod support;

mod autobahn_mapping;
mod case_files_are_checked_for_cost;
mod case_files_are_valid;
mod cli_clients;
mod cli_conformance;
mod conformance_bounded_against_hostile_servers;
mod every_case_can_fail;
mod every_client_case_can_fail;
mod every_output_applies_one_pass_fail_rule;
mod flawed_client_fixture;
mod flawed_server_fixture;
mod hostile_servers_cost_verdicts_not_the_run;
mod load_churn_reopens_connections;
mod load_cli_thresholds_and_report;
mod load_deflate_compresses_and_verifies;
mod load_hostile_servers_cost_errors_not_memory;
mod load_io_uring_driver;
mod load_large_messages;
mod load_misbehaving_servers_make_errors;
mod load_open_loop_corrects_coordinated_omission;
mod load_says_when_sending_falls_behind;
mod load_scenarios;
mod load_shards_merge_exactly;
mod reports_matrix;
mod reports_open_in_chromium;
mod reports_written_by_runs;
mod runner_features;
mod runner_judges_cases;
mod wss_targets;
