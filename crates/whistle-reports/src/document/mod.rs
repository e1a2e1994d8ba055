//! The published form of a report: a title, summary sentences and tables, in Simplified Chinese by
//! default (English available), written as JSON, CSV, XLSX or plain text. A document carries no
//! clock of its own: the same data and policy give the same bytes in every format.

use serde::Serialize;

use whistle_store::StoreError;

/// The language a report is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl From<whistle_core::error::Lang> for Lang {
    /// The report language for the language of a request or a command line.
    fn from(lang: whistle_core::error::Lang) -> Lang {
        match lang {
            whistle_core::error::Lang::Zh => Lang::Zh,
            whistle_core::error::Lang::En => Lang::En,
        }
    }
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

    /// A table column: its label in this language, and its key in JSON — the English label in
    /// snake case (`"valid visits"` → `valid_visits`), the same in every language.
    pub fn col(self, zh: &str, en: &str) -> Column {
        Column {
            key: key_of(en),
            label: self.t(zh, en),
        }
    }
}

/// A column's JSON key from its English label: lower-case ASCII letters and digits, every other
/// run of characters one `_`.
fn key_of(en: &str) -> String {
    let mut key = String::new();
    for c in en.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// A table column: the key rows carry it under in JSON, and the label shown in CSV, XLSX and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub key: String,
    pub label: String,
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

/// A table of a report. In JSON: `{"name", "title", "columns": [{"key", "label"}], "rows":
/// [{KEY: value, …}]}` — each row an object under the columns' stable keys, so a reader names
/// the figure it wants instead of counting positions.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// A short ASCII name (the XLSX sheet and the JSON key).
    pub name: String,
    pub title: String,
    /// The columns' labels, in the document's language.
    pub columns: Vec<String>,
    /// The columns' JSON keys (ASCII snake case, unique in the table).
    pub keys: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, title: String, columns: Vec<Column>) -> Table {
        let (keys, columns) = columns.into_iter().map(|c| (c.key, c.label)).unzip();
        Table {
            name: name.to_string(),
            title,
            columns,
            keys,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }
}

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
        struct Columns<'a>(&'a Table);
        impl Serialize for Columns<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.keys.len()))?;
                for (key, label) in self.0.keys.iter().zip(&self.0.columns) {
                    seq.serialize_element(&serde_json::json!({"key": key, "label": label}))?;
                }
                seq.end()
            }
        }
        struct Row<'a>(&'a [String], &'a [Cell]);
        impl Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (key, cell) in self.0.iter().zip(self.1) {
                    map.serialize_entry(key, cell)?;
                }
                map.end()
            }
        }
        struct Rows<'a>(&'a Table);
        impl Serialize for Rows<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.rows.len()))?;
                for row in &self.0.rows {
                    seq.serialize_element(&Row(&self.0.keys, row))?;
                }
                seq.end()
            }
        }
        let mut table = serializer.serialize_struct("Table", 4)?;
        table.serialize_field("name", &self.name)?;
        table.serialize_field("title", &self.title)?;
        table.serialize_field("columns", &Columns(self))?;
        table.serialize_field("rows", &Rows(self))?;
        table.end()
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

mod text;
mod xlsx;

impl Document {
    pub fn render(&self, format: Format) -> Result<Vec<u8>, StoreError> {
        Ok(match format {
            Format::Json => {
                let mut bytes = serde_json::to_vec_pretty(&whistle_core::outside::InBeijing(self))
                    .map_err(|e| anyhow::anyhow!(e))?;
                bytes.push(b'\n');
                bytes
            }
            Format::Csv => self.csv().into_bytes(),
            Format::Text => self.text().into_bytes(),
            Format::Xlsx => self.xlsx()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        let mut table = Table::new(
            "volumes",
            "按类型".into(),
            vec![
                Lang::Zh.col("类型", "type"),
                Lang::Zh.col("件数", "requests"),
                Lang::Zh.col("占比", "share"),
            ],
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
