//! A report as a document: titled sections of Markdown, each possibly with a chart beside it.
//! `markdown` builds one from a report; it becomes `report.md` here and an HTML page in `html`.

/// One section: a heading, its Markdown body and the chart that goes beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The anchor (unique in the document).
    pub id: String,
    /// 1 for the title, 2 for a part, 3 for a figure.
    pub level: u8,
    pub heading: String,
    pub body: String,
    /// The chart's file name, beside the report's files.
    pub chart: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub sections: Vec<Section>,
}

impl Document {
    /// The whole document as Markdown; charts as images after their section's body.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for s in &self.sections {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{} {}\n\n", "#".repeat(usize::from(s.level.clamp(1, 6))), s.heading));
            if !s.body.trim().is_empty() {
                out.push_str(s.body.trim_end());
                out.push('\n');
            }
            if let Some(chart) = &s.chart {
                out.push_str(&format!("\n![{}]({chart})\n", s.heading));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_headings_bodies_and_charts_in_order() {
        let doc = Document {
            title: "T".into(),
            sections: vec![
                Section { id: "t".into(), level: 1, heading: "T".into(), body: "intro\n".into(), chart: None },
                Section {
                    id: "a".into(),
                    level: 3,
                    heading: "A".into(),
                    body: "| x |\n|---|\n".into(),
                    chart: Some("a.svg".into()),
                },
            ],
        };
        assert_eq!(doc.to_markdown(), "# T\n\nintro\n\n### A\n\n| x |\n|---|\n\n![A](a.svg)\n");
    }
}
