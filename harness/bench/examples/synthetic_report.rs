//! Writes a synthetic report (made-up samples for every figure) into a directory, to look at
//! the tables, charts and HTML without measuring anything:
//! `cargo run -p procthread-bench --example synthetic_report -- target/synthetic-report`.

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os().nth(1).map_or_else(|| "target/synthetic-report".into(), std::path::PathBuf::from);
    let files = procthread_bench::output::write(&procthread_bench::synthetic::report(1), &dir)?;
    println!("wrote {} files in {}", files.len(), dir.display());
    Ok(())
}
