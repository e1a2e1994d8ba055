//! A document as CSV (every table in turn) and as aligned plain text.

use super::{Cell, Document};

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl Document {
    /// Every table in turn: a `# title` line, the header and the rows, a blank line between.
    pub fn csv(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for line in &self.summary {
            out.push_str(&format!("# {line}\n"));
        }
        for table in &self.tables {
            out.push('\n');
            out.push_str(&format!("# {}\n", table.title));
            let header: Vec<String> = table.columns.iter().map(|c| csv_field(c)).collect();
            out.push_str(&header.join(","));
            out.push('\n');
            for row in &table.rows {
                let cells: Vec<String> = row.iter().map(|c| csv_field(&c.text())).collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
        }
        out
    }

    /// The summary and the tables as aligned plain text (for a terminal or a message).
    pub fn text(&self) -> String {
        let width = |s: &str| -> usize {
            s.chars()
                .map(|c| if (c as u32) > 0x2E80 { 2 } else { 1 })
                .sum()
        };
        let mut out = format!("{}\n\n", self.title);
        for line in &self.summary {
            out.push_str(line);
            out.push('\n');
        }
        for table in &self.tables {
            out.push_str(&format!("\n【{}】\n", table.title));
            let mut widths: Vec<usize> = table.columns.iter().map(|c| width(c)).collect();
            for row in &table.rows {
                for (i, cell) in row.iter().enumerate() {
                    if let Some(w) = widths.get_mut(i) {
                        *w = (*w).max(width(&cell.text()));
                    }
                }
            }
            let line = |cells: Vec<String>| -> String {
                let padded: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(width(c));
                        format!("{c}{}", " ".repeat(pad))
                    })
                    .collect();
                format!("{}\n", padded.join("  ").trim_end())
            };
            out.push_str(&line(table.columns.clone()));
            if table.rows.is_empty() {
                out.push_str(&self.lang.t("（无）\n", "(none)\n"));
            }
            for row in &table.rows {
                out.push_str(&line(row.iter().map(Cell::text).collect()));
            }
        }
        out
    }
}
