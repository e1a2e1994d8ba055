//! The published form of a report: a title, summary sentences and tables, in Simplified Chinese by
//! default (English available), written as JSON, CSV, XLSX or plain text. A document carries no
//! clock of its own: the same data and policy give the same bytes in every format.

use serde::Serialize;

use crate::types::StoreError;

/// The language a report is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Result<Lang, StoreError> {
        match text {
            "zh" | "zh-CN" | "zh-Hans" => Ok(Lang::Zh),
            "en" | "en-US" | "en-GB" => Ok(Lang::En),
            other => Err(whistle_core::error::DomainError::InvalidValue {
                field: "lang".into(),
                value: other.chars().take(20).collect(),
            }
            .into()),
        }
    }

    /// The Chinese or the English text.
    pub fn t(self, zh: &str, en: &str) -> String {
        match self {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
        }
    }
}

/// One cell of a table.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A ratio or rate shown with four decimals; `None` is shown empty (not 0).
    Rate(Option<f64>),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Rate(Some(r)) => format!("{r:.4}"),
            Cell::Rate(None) => String::new(),
        }
    }
}

impl From<&str> for Cell {
    fn from(t: &str) -> Cell {
        Cell::Text(t.to_string())
    }
}
impl From<String> for Cell {
    fn from(t: String) -> Cell {
        Cell::Text(t)
    }
}
impl From<i64> for Cell {
    fn from(i: i64) -> Cell {
        Cell::Int(i)
    }
}
impl From<usize> for Cell {
    fn from(i: usize) -> Cell {
        Cell::Int(i as i64)
    }
}
impl From<Option<f64>> for Cell {
    fn from(r: Option<f64>) -> Cell {
        Cell::Rate(r)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// A short ASCII name (the XLSX sheet and the JSON key).
    pub name: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, title: String, columns: Vec<String>) -> Table {
        Table {
            name: name.to_string(),
            title,
            columns,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Document {
    /// `daily`, `weekly`, `monthly`, `hotspots` …
    pub kind: String,
    /// What the report covers: a date, a week, a month.
    pub subject: String,
    pub lang: Lang,
    pub title: String,
    /// True when the period holds no data (the summary says so).
    pub empty: bool,
    pub summary: Vec<String>,
    pub tables: Vec<Table>,
}

/// Output formats of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Text,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, StoreError> {
        match text {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            "text" | "txt" => Ok(Format::Text),
            other => Err(whistle_core::error::DomainError::InvalidValue {
                field: "format (json, csv, xlsx or text)".into(),
                value: other.chars().take(20).collect(),
            }
            .into()),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Text => "text/plain; charset=utf-8",
        }
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

impl Document {
    pub fn render(&self, format: Format) -> Result<Vec<u8>, StoreError> {
        Ok(match format {
            Format::Json => {
                let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| anyhow::anyhow!(e))?;
                bytes.push(b'\n');
                bytes
            }
            Format::Csv => self.csv().into_bytes(),
            Format::Text => self.text().into_bytes(),
            Format::Xlsx => self.xlsx()?,
        })
    }

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

    /// One sheet for the summary and one per table. The document properties carry a fixed date
    /// (the archive entries already do), so the bytes depend on the content only.
    pub fn xlsx(&self) -> Result<Vec<u8>, StoreError> {
        use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XFormat, Workbook};
        let fail = |e: rust_xlsxwriter::XlsxError| StoreError::Other(anyhow::anyhow!(e));
        let mut workbook = Workbook::new();
        let fixed = ExcelDateTime::from_ymd(2000, 1, 1).map_err(fail)?;
        workbook.set_properties(
            &DocProperties::new()
                .set_title(&self.title)
                .set_creation_datetime(&fixed),
        );
        let bold = XFormat::new().set_bold();
        let rate = XFormat::new().set_num_format("0.0000");
        {
            let sheet = workbook.add_worksheet();
            sheet
                .set_name(self.lang.t("摘要", "summary"))
                .map_err(fail)?;
            sheet
                .write_string_with_format(0, 0, &self.title, &bold)
                .map_err(fail)?;
            for (i, line) in self.summary.iter().enumerate() {
                sheet.write_string(i as u32 + 2, 0, line).map_err(fail)?;
            }
            sheet.set_column_width(0, 100).map_err(fail)?;
        }
        for (index, table) in self.tables.iter().enumerate() {
            let sheet = workbook.add_worksheet();
            // Sheet names: at most 31 characters, unique.
            let name: String = format!("{}-{}", index + 1, table.name)
                .chars()
                .take(31)
                .collect();
            sheet.set_name(name).map_err(fail)?;
            sheet
                .write_string_with_format(0, 0, &table.title, &bold)
                .map_err(fail)?;
            for (c, column) in table.columns.iter().enumerate() {
                sheet
                    .write_string_with_format(1, c as u16, column, &bold)
                    .map_err(fail)?;
                sheet
                    .set_column_width(c as u16, (column.chars().count() as f64 * 2.2).max(10.0))
                    .map_err(fail)?;
            }
            sheet.set_freeze_panes(2, 0).map_err(fail)?;
            for (r, row) in table.rows.iter().enumerate() {
                let r = r as u32 + 2;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Text(t) => sheet.write_string(r, c, t).map(|_| ()),
                        Cell::Int(i) => sheet.write_number(r, c, *i as f64).map(|_| ()),
                        Cell::Rate(Some(v)) => {
                            sheet.write_number_with_format(r, c, *v, &rate).map(|_| ())
                        }
                        Cell::Rate(None) => Ok(()),
                    }
                    .map_err(fail)?;
                }
            }
        }
        workbook.save_to_buffer().map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let mut table = Table::new(
            "volumes",
            "按类型".into(),
            vec!["类型".into(), "件数".into(), "占比".into()],
        );
        table.push(vec!["咨询".into(), 58i64.into(), Some(0.58).into()]);
        table.push(vec!["含,逗号\"".into(), 42i64.into(), None.into()]);
        Document {
            kind: "daily".into(),
            subject: "2026-10-15".into(),
            lang: Lang::Zh,
            title: "日通报".into(),
            empty: false,
            summary: vec!["共受理 100 件。".into()],
            tables: vec![table],
        }
    }

    #[test]
    fn every_format_is_byte_for_byte_reproducible() {
        let doc = sample();
        for format in [Format::Json, Format::Csv, Format::Text, Format::Xlsx] {
            let first = doc.render(format).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
            assert_eq!(first, doc.render(format).unwrap(), "{format:?}");
        }
    }

    #[test]
    fn csv_quotes_and_leaves_missing_rates_empty() {
        let csv = sample().csv();
        assert!(csv.contains("\"含,逗号\"\"\",42,\n"), "{csv}");
        assert!(csv.contains("咨询,58,0.5800\n"));
        let xlsx = sample().xlsx().unwrap();
        assert_eq!(&xlsx[..2], b"PK");
        assert!(Format::parse("pdf").is_err());
        assert!(Lang::parse("fr").is_err());
    }
}
