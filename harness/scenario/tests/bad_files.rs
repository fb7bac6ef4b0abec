//! A corpus of malformed scenarios, each with its exact diagnostics snapshotted
//! (`tests/snapshots/bad_files__*.snap`): file, line, column and what was expected.

#[test]
fn every_bad_file_gets_its_exact_errors() {
    insta::glob!("bad/*.toml", |path| {
        let source = std::fs::read_to_string(path).expect("readable");
        // Written with `/` so the message reads the same on every OS.
        let name = format!("bad/{}", path.file_name().expect("a file").to_string_lossy());
        let err =
            procthread_scenario::parse_str(std::path::Path::new(&name), &source).expect_err("the file is malformed");
        insta::assert_snapshot!(err.to_string());
    });
}
