//! The report's files from a synthetic report: `report.json` valid against the published JSON
//! Schema (and so is the committed full report), the same samples render the same bytes, and
//! the HTML has its contents, its pages bar and each chart beside its table.

use std::path::Path;

use procthread_bench::{analyse, cli, output, synthetic};
use serde_json::Value;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn schema() -> Value {
    let text = std::fs::read_to_string(workspace().join("reports/report.schema.json")).expect("schema");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn errors(instance: &Value) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema");
    validator.iter_errors(instance).take(20).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn a_generated_report_validates_against_the_schema() {
    let dir = tempfile::tempdir().expect("dir");
    output::write(&synthetic::report(1), dir.path()).expect("writes");
    let text = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let report: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(errors(&report), Vec::<String>::new());
    // The schema is not vacuous: a report without its timestamp, or with a string sample, fails.
    let mut broken = report.clone();
    broken["machine"].as_object_mut().expect("machine").remove("timestamp");
    broken["figures"][0]["series"][0]["samples"][0] = Value::from("fast");
    let errs = errors(&broken);
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[test]
fn the_committed_report_validates_against_the_schema() {
    for entry in std::fs::read_dir(workspace().join("reports")).expect("reports/") {
        let path = entry.expect("entry").path().join("report.json");
        if path.exists() {
            let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
            assert_eq!(errors(&report), Vec::<String>::new(), "{}", path.display());
            cli::read_report(&path).expect("and the harness reads it");
        }
    }
}

#[test]
fn the_same_samples_render_the_same_files() {
    let (a, b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let report = synthetic::report(2);
    let files = output::write(&report, a.path()).expect("writes");
    // Through JSON and a fresh analysis, as `harness report --render-only` does.
    let again = analyse::again(&cli::read_report(&a.path().join("report.json")).expect("reads"));
    assert_eq!(again, report);
    output::write(&again, b.path()).expect("writes");
    for f in files {
        let name = f.file_name().expect("name");
        let (x, y) = (std::fs::read(&f).expect("a"), std::fs::read(b.path().join(name)).expect("b"));
        assert!(x == y, "{} differs when re-rendered", name.to_string_lossy());
    }
}

#[test]
fn the_page_has_contents_summary_first_and_charts_beside_tables() {
    let dir = tempfile::tempdir().expect("dir");
    output::write(&synthetic::report(3), dir.path()).expect("writes");
    let html = std::fs::read_to_string(dir.path().join("index.html")).expect("index.html");
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    assert!(html.contains("<nav class=\"pages\"><a href=\"index.html\" class=\"current\">Performance</a></nav>"));
    assert!(html.contains("<nav class=\"toc\">") && html.contains("<a href=\"#summary\">Processes or threads?</a>"));
    // Rendered by a Markdown library: real tables, no pipes left.
    assert!(html.contains("<table>") && !html.contains("|---|"), "tables rendered");
    let figure = html.find("<section id=\"thread-start_join\">").expect("figure section");
    let rest = &html[figure..];
    let (table, chart) = (rest.find("<table>").expect("table"), rest.find("thread-start_join.svg").expect("chart"));
    let end = rest.find("</section>").expect("end");
    assert!(table < chart && chart < end, "the chart sits in the figure's section, after its table");
    assert!(rest[..end].contains("<div class=\"figure\"><div class=\"text\">"));
    // Summary first, then targets, then the details.
    let (s, t, d) = (md.find("## Processes or threads?"), md.find("## Targets"), md.find("## Starting things"));
    assert!(s < t && t < d && s.is_some(), "order: summary, targets, details");
    assert!(md.contains("| Start + join one worker |"), "{md}");
    // Every chart file exists and is SVG; sweeps tick at the measured sizes, log axes say so.
    let sweep = std::fs::read_to_string(dir.path().join("ipc-size_sweep.svg")).expect("svg");
    for tick in ["16 B", "256 B", "4 KiB", "64 KiB", "1 MiB", "(log scale)"] {
        assert!(sweep.contains(tick), "size sweep lacks {tick}");
    }
    assert!(!sweep.contains("98 KiB") && !sweep.contains("977 KiB"));
}
