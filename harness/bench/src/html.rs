//! HTML pages from documents: Markdown rendered by pulldown-cmark, a table of contents, each
//! chart beside its section's tables, and a bar linking the site's pages. The pages are a list
//! (`output::pages`): the performance report is one; another (a conformance matrix, say) is
//! one more entry there.

use pulldown_cmark::{Options, Parser, html::push_html};

use crate::document::{Document, Section};

/// One page of the site.
#[derive(Debug, Clone)]
pub struct Page {
    /// File name beside the others (`index.html` for the first).
    pub file: String,
    /// Its name in the bar of pages.
    pub nav: String,
    pub document: Document,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Markdown to HTML, with tables (CommonMark plus GitHub's tables; raw HTML such as `<br>` in a
/// cell passes through).
pub fn markdown(md: &str) -> String {
    let mut out = String::new();
    push_html(&mut out, Parser::new_ext(md, Options::ENABLE_TABLES));
    out
}

/// The table of contents: the parts, each with its figures.
fn toc(doc: &Document) -> String {
    let link = |s: &Section| format!("<a href=\"#{}\">{}</a>", escape(&s.id), escape(&s.heading));
    let entries: Vec<&Section> = doc.sections.iter().filter(|s| s.level >= 2).collect();
    let mut out = String::from("<nav class=\"toc\"><h2>Contents</h2>\n<ul>\n");
    let mut i = 0;
    while i < entries.len() {
        out.push_str(&format!("<li>{}", link(entries[i])));
        i += 1;
        let mut children = Vec::new();
        while i < entries.len() && entries[i].level > 2 {
            children.push(format!("<li>{}</li>", link(entries[i])));
            i += 1;
        }
        if !children.is_empty() {
            out.push_str(&format!("<ul>{}</ul>", children.join("")));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul></nav>\n");
    out
}

fn section(s: &Section) -> String {
    let tag = format!("h{}", s.level.clamp(1, 6));
    let heading = format!("<{tag}>{}</{tag}>", escape(&s.heading));
    let body = markdown(&s.body);
    match &s.chart {
        Some(chart) => format!(
            "<section id=\"{id}\">{heading}\n<div class=\"figure\"><div class=\"text\">{body}</div>\
             <div class=\"chart\"><a href=\"{c}\"><img src=\"{c}\" alt=\"chart: {alt}\"></a></div></div></section>\n",
            id = escape(&s.id),
            c = escape(chart),
            alt = escape(&s.heading)
        ),
        None => format!("<section id=\"{}\">{heading}\n{body}</section>\n", escape(&s.id)),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1400px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}\
nav.pages{border-bottom:1px solid #ccc;padding-bottom:.5em;margin-bottom:1em}nav.pages a{margin-right:1.2em}\
nav.pages a.current{font-weight:bold;color:#222;text-decoration:none}\
nav.toc{background:#f6f8fa;border:1px solid #ddd;padding:.3em 1em;margin:1em 0;columns:2;font-size:14px}\
nav.toc h2{column-span:all;font-size:16px;margin:.4em 0}nav.toc ul{margin:0;padding-left:1.2em}\
table{border-collapse:collapse;margin:.6em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}\
th{background:#f0f0f0}.figure{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}\
.figure .text{flex:1 1 560px;min-width:0;overflow-x:auto}.figure .chart{flex:0 0 640px}.figure img{width:640px}\
section{margin-bottom:1.5em}h3{border-top:1px solid #eee;padding-top:.8em}";

/// One page, with the bar linking every page of the site.
pub fn render(page: &Page, pages: &[Page]) -> String {
    let nav: Vec<String> = pages
        .iter()
        .map(|p| {
            let class = if p.file == page.file { " class=\"current\"" } else { "" };
            format!("<a href=\"{}\"{class}>{}</a>", escape(&p.file), escape(&p.nav))
        })
        .collect();
    let doc = &page.document;
    let mut body = String::new();
    let mut sections = doc.sections.iter().peekable();
    // The title section first, then the contents, then the rest.
    if let Some(first) = sections.next_if(|s| s.level == 1) {
        body.push_str(&section(first));
    }
    body.push_str(&toc(doc));
    for s in sections {
        body.push_str(&section(s));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>\n<style>{STYLE}</style></head>\n<body>\n<nav class=\"pages\">{}</nav>\n{body}</body></html>\n",
        escape(&doc.title),
        nav.join("")
    )
}
