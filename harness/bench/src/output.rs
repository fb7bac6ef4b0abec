//! Writing a report's files: `report.md`, `report.json`, one SVG chart per figure, and the HTML
//! pages (`index.html` first).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::document::Document;
use crate::html::{self, Page};
use crate::model::Report;
use crate::{charts, conformance, markdown};

/// The pages of the HTML site, in the order of its bar: the performance report, then the
/// conformance matrix when the directory has one (`conformance::FILE`); `html::render` links
/// every page from every other.
pub fn pages(r: &Report, conformance: Option<Document>) -> Vec<Page> {
    let mut pages =
        vec![Page { file: "index.html".into(), nav: "Performance".into(), document: markdown::document(r) }];
    if let Some(document) = conformance {
        pages.push(Page { file: "conformance.html".into(), nav: "Conformance".into(), document });
    }
    pages
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
    let pages = pages(r, conformance::read(dir)?);
    for page in &pages {
        let path = dir.join(&page.file);
        std::fs::write(&path, html::render(page, &pages))?;
        files.push(path);
    }
    Ok(files)
}
