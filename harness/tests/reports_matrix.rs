//! `wsharness matrix`: several conformance reports side by side (rows in the first report's order, only the
//! cells present compared), refused for fewer than two reports or servers and clients mixed.

use std::path::Path;
use std::process::Command;

use crate::every_output_applies_one_pass_fail_rule::{case, report};
use reports::conformance::Role;
use reports::matrix::{Matrix, MatrixError};
use reports::Report;
use wsharness::verdict::{FailOn, Verdict};

fn of(cases: &[(&str, Verdict)], role: Role) -> Report {
    let mut r = report(cases.iter().map(|(id, v)| case(id, *v, None)).collect(), FailOn::Failed);
    r.role = role;
    Report::Conformance(Box::new(r))
}

#[test]
fn rows_follow_the_first_report_and_only_present_cells_are_compared() {
    let a = of(&[("x/1", Verdict::Ok), ("x/2", Verdict::Failed)], Role::Server);
    let b = of(&[("x/2", Verdict::Ok), ("x/3", Verdict::Ok)], Role::Server);
    let m = Matrix::of(&[("a".into(), &a), ("b".into(), &b)]).expect("a matrix");
    let ids: Vec<&str> = m.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["x/1", "x/2", "x/3"]);
    let differing: Vec<&str> = m.differing().map(|r| r.id.as_str()).collect();
    assert_eq!(differing, ["x/2"], "x/1 and x/3 are each in one report only");
    let text = m.text(10);
    assert!(text.contains("x/2: [1] FAILED  [2] OK") && text.contains("2 are missing from some report"), "{text}");
    let page = reports::html::render_matrix(&m).expect("the page renders");
    assert!(page.contains("Where the reports differ (1)") && page.contains("x/3"), "every case is on the page");
}

#[test]
fn fewer_than_two_reports_and_mixed_roles_are_refused() {
    let a = of(&[("x/1", Verdict::Ok)], Role::Server);
    let c = of(&[("x/1", Verdict::Ok)], Role::Client);
    assert!(matches!(Matrix::of(&[("a".into(), &a)]), Err(MatrixError::TooFew)));
    assert!(matches!(Matrix::of(&[("a".into(), &a), ("c".into(), &c)]), Err(MatrixError::MixedRoles { .. })));
}

#[test]
fn the_command_reads_reports_writes_the_page_and_refuses_a_non_report_with_exit_2() {
    let _turn = crate::support::turn(module_path!());
    let dir = std::env::temp_dir().join(format!("wsharness-matrix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, v) in [("a.json", Verdict::Ok), ("b.json", Verdict::Failed)] {
        let r = report(vec![case("x/1", v, None)], FailOn::Failed);
        std::fs::write(dir.join(name), serde_json::to_vec(&r).expect("JSON")).expect("written");
    }
    std::fs::write(dir.join("not.json"), b"{}").expect("written");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_wsharness")).args(args).current_dir(&dir).output();
    let out = run(&["matrix", "a.json", "b.json", "--html", "m.html"]).expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 of 1 cases differ"), "{text}");
    assert!(Path::new(&dir.join("m.html")).exists());
    let out = run(&["matrix", "a.json", "not.json"]).expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
