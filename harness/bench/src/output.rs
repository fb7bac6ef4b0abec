//! Writing a report's files: `report.md`, `report.json`, one SVG chart per figure, and the HTML
//! pages (`index.html` first).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::html::{self, Page};
use crate::model::Report;
use crate::{charts, markdown};

/// The pages of the HTML site, in the order of its bar. Another page (the conformance matrix)
/// is one more entry here; `html::render` links every page from every other.
pub fn pages(r: &Report) -> Vec<Page> {
    vec![Page { file: "index.html".into(), nav: "Performance".into(), document: markdown::document(r) }]
}

/// Writes the report's files into `dir`; returns their paths.
pub fn write(r: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let md = dir.join("report.md");
    std::fs::write(&md, markdown::document(r).to_markdown())?;
    let json = dir.join("report.json");
    std::fs::write(&json, serde_json::to_string_pretty(r)? + "\n")?;
    let mut files = vec![md, json];
    files.extend(charts::write_all(r, dir)?.into_iter().map(|c| dir.join(c)));
    let pages = pages(r);
    for page in &pages {
        let path = dir.join(&page.file);
        std::fs::write(&path, html::render(page, &pages))?;
        files.push(path);
    }
    Ok(files)
}
