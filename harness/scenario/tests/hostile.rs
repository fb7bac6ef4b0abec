//! Hostile inputs (issue 8, point 12): huge products, huge files, nested product factors and
//! bytes that are not UTF-8 each get a diagnostic with file:line:col, never a crash or a hang.
//! No wall-clock assertion here: a quadratic parser shows as a test nextest kills at its
//! timeout (these files took minutes before the fix, well under a second after).

use std::path::Path;

use procthread_scenario::{LoadError, StepKind, load, parse_str};

fn errors(src: &str) -> Vec<String> {
    match parse_str(Path::new("t.toml"), src) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.0.iter().map(|d| d.to_string()).collect(),
    }
}

#[test]
fn a_product_of_50000_factors_parses_without_exhausting_the_stack() {
    let factors = vec!["value"; 50_000].join("*");
    let src = format!("[actors.main]\nsteps = [ {{ print = \"{{{factors}}}\" }} ]\n");
    let s = parse_str(Path::new("t.toml"), &src).expect("a long product is valid");
    let StepKind::Print(t) = &s.actors[0].steps[0].kind else { panic!("a print step") };
    assert!(t.sole_hole().is_some(), "one placeholder: the product");
    // The model crosses process boundaries as JSON: it must survive the trip too.
    let json = serde_json::to_string(&s).expect("serializes");
    let back: procthread_scenario::Scenario = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back.actors[0].steps.len(), 1);
}

#[test]
fn every_factor_of_a_product_is_checked() {
    let e = errors("[actors.main]\nsteps = [ { print = \"x {value*value*nosuch}\" } ]\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.toml:2:37: unknown placeholder `{nosuch}` in template \"x {value*value*nosuch}\""),
        "{}",
        e[0]
    );
    let e = errors("[actors.main]\nsteps = [ { print = \"{2*pid:ghost}\" } ]\n");
    assert_eq!(e, ["t.toml:2:25: `{pid:ghost}` names no actor instance; known instances: `main`"]);
}

/// About 4 MB: 120,000 steps (every tenth one wrong) and 2,000 actor definitions started
/// under 12,000 instance names, so that every per-step and per-name cost shows if it grows.
fn big_file() -> String {
    let mut src = String::from("[resources]\nq = \"queue\"\n\n[actors.main]\nsteps = [\n");
    for i in 0..120_000 {
        match i % 10 {
            0 => src.push_str(&format!("  {{ put = \"nosuch\", value = {i} }},\n")),
            1 => src.push_str(&format!("  {{ start = \"w{}\", as = \"inst{}\" }},\n", i % 2_000, i / 10)),
            2 => src.push_str(&format!("  {{ join = \"inst{}\" }},\n", i / 10)),
            _ => src.push_str(&format!("  {{ print = \"step {i} of a long scenario {{pid}} {{i}}\" }},\n")),
        }
    }
    src.push_str("]\n");
    for w in 0..2_000 {
        src.push_str(&format!("\n[actors.w{w}]\nsteps = [ {{ sleep_ms = {w} }} ]\n"));
    }
    src
}

#[test]
fn a_file_of_megabytes_parses_in_linear_time_with_every_error_located() {
    let src = big_file();
    assert!(src.len() > 4_000_000, "{} bytes", src.len());
    let e = errors(&src);
    assert_eq!(e.len(), 12_000, "one error per wrong put");
    assert!(e[0].starts_with("t.toml:6:11: unknown queue `nosuch`; queues defined: `q`"), "{}", e[0]);
    assert!(e[11_999].starts_with("t.toml:119996:11: unknown queue `nosuch`"), "{}", e[11_999]);
}

#[test]
fn a_file_that_is_not_utf8_gets_line_and_column() {
    let dir = std::env::temp_dir().join(format!("procthread-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("latin1.toml");
    std::fs::write(&file, b"[actors.main]\nsteps = [ { print = \"caf\xe9\" } ]\n").expect("write");
    let err = load(&file).expect_err("not UTF-8");
    let _ = std::fs::remove_dir_all(&dir);
    let LoadError::Invalid(d) = err else { panic!("a diagnostic, found {err}") };
    assert_eq!(d.0.len(), 1);
    assert_eq!((d.0[0].line, d.0[0].column), (2, 25));
    assert_eq!(d.0[0].message, "the file is not valid UTF-8: byte 0xe9 cannot start or continue a character here");
    // The line is shown as far as it reads, the byte that does not as U+FFFD, under the caret.
    assert_eq!(d.0[0].source_line, "steps = [ { print = \"caf\u{FFFD}\" } ]");
    assert_eq!(&d.0[0].source_line[d.0[0].span.clone()], "\u{FFFD}");
}
