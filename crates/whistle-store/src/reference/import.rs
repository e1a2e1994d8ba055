//! Reading and writing reference files: CSV (with the line number of any bad row) or JSON.
//! A file with invalid UTF-8 or one bad row is refused whole; nothing of it is imported.

use serde::{Deserialize, Serialize};
use whistle_core::calendar::{parse_workdays_json, CalendarYear, DayMark};
use whistle_core::catalogue::{CatalogueEntry, DutyHolder, HandlerRule};
use whistle_core::ids::{CategoryCode, UnitCode};
use whistle_core::org::{Unit, UnitKind, UnitStatus};
use whistle_core::policy::Policy;
use whistle_core::taxonomy::{Category, LimitClass, Urgency};
use whistle_core::whistle::WhistleListItem;

use crate::types::{ReferenceImport, StoreError};

/// The kinds of reference file `whistle import` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Units,
    Categories,
    Catalogue,
    Duties,
    Calendar,
    Policy,
    /// 吹哨事项清单: `code,kind,title,territory,lead,assisting`.
    WhistleList,
    /// The nested `{code, name, children}` division tree of `beijing_divisions.json`.
    Divisions,
}

/// Parses a reference file; `json` selects JSON over CSV (TOML for a policy).
pub fn parse(kind: FileKind, bytes: &[u8], json: bool) -> Result<ReferenceImport, StoreError> {
    let text = utf8(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(match kind {
        FileKind::Units if json => ReferenceImport::Units(from_json(text)?),
        FileKind::Units => ReferenceImport::Units(read_csv(text, unit_from_row)?),
        FileKind::Categories if json => ReferenceImport::Categories(from_json(text)?),
        FileKind::Categories => ReferenceImport::Categories(read_csv(text, category_from_row)?),
        FileKind::Catalogue if json => ReferenceImport::Catalogue {
            entries: from_json(text)?,
            note: String::new(),
        },
        FileKind::Catalogue => ReferenceImport::Catalogue {
            entries: read_csv(text, entry_from_row)?,
            note: String::new(),
        },
        FileKind::Duties if json => ReferenceImport::Duties(from_json(text)?),
        FileKind::Duties => ReferenceImport::Duties(read_csv(text, |row: DutyRow| {
            Ok((row.holder.parse()?, CategoryCode::parse(&row.category)?))
        })?),
        FileKind::Calendar => ReferenceImport::Calendar(parse_workdays_json(text)?),
        FileKind::Policy if json => ReferenceImport::Policy(Box::new(from_json(text)?)),
        FileKind::Policy => {
            let policy: Policy =
                toml::from_str(text).map_err(|e| StoreError::Import(format!("policy: {e}")))?;
            policy.validate()?;
            ReferenceImport::Policy(Box::new(policy))
        }
        FileKind::WhistleList if json => ReferenceImport::WhistleList(from_json(text)?),
        FileKind::WhistleList => ReferenceImport::WhistleList(read_csv(text, item_from_row)?),
        FileKind::Divisions => ReferenceImport::Units(divisions_to_units(text)?),
    })
}

fn utf8(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes).map_err(|error| {
        let line = bytes[..error.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        StoreError::Import(format!("line {line}: invalid UTF-8"))
    })
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Import(format!("line {}: {e}", e.line())))
}

fn read_csv<R, T>(
    text: &str,
    convert: impl Fn(R) -> Result<T, whistle_core::error::DomainError>,
) -> Result<Vec<T>, StoreError>
where
    R: for<'de> Deserialize<'de>,
{
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut items = Vec::new();
    let mut record = csv::StringRecord::new();
    let headers = reader
        .headers()
        .map_err(|e| StoreError::Import(format!("line 1: {e}")))?
        .clone();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(StoreError::Import(format!("line {line}: {e}"))),
        }
        let line = record.position().map_or(line, |p| p.line());
        let row: R = record
            .deserialize(Some(&headers))
            .map_err(|e| StoreError::Import(format!("line {line}: {e}")))?;
        items.push(convert(row).map_err(|e| StoreError::Import(format!("line {line}: {e}")))?);
    }
    Ok(items)
}

#[derive(Serialize, Deserialize)]
struct UnitRow {
    code: String,
    kind: String,
    name: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    line: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    merged_into: String,
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

fn unit_from_row(row: UnitRow) -> Result<Unit, whistle_core::error::DomainError> {
    if row.name.trim().is_empty() {
        return Err(whistle_core::error::DomainError::InvalidValue {
            field: "name".into(),
            value: String::new(),
        });
    }
    Ok(Unit {
        code: UnitCode::parse(&row.code)?,
        kind: row.kind.parse()?,
        name: row.name,
        parent: non_empty(&row.parent).map(UnitCode::parse).transpose()?,
        line: non_empty(&row.line).map(str::to_string),
        status: match row.status.as_str() {
            "" | "active" => UnitStatus::Active,
            "retired" => UnitStatus::Retired,
            other => {
                return Err(whistle_core::error::DomainError::InvalidValue {
                    field: "status".into(),
                    value: other.into(),
                })
            }
        },
        merged_into: non_empty(&row.merged_into)
            .map(UnitCode::parse)
            .transpose()?,
    })
}

#[derive(Serialize, Deserialize)]
struct CategoryRow {
    code: String,
    name_zh: String,
    name_en: String,
    handler: String,
    urgency: String,
    limit_class: String,
    public: String,
}

fn category_from_row(row: CategoryRow) -> Result<Category, whistle_core::error::DomainError> {
    Ok(Category {
        code: CategoryCode::parse(&row.code)?,
        name_zh: row.name_zh,
        name_en: row.name_en,
        handler: HandlerRule::parse(&row.handler)?,
        urgency: row.urgency.parse::<Urgency>()?,
        limit_class: row.limit_class.parse::<LimitClass>()?,
        public: match row.public.as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                return Err(whistle_core::error::DomainError::InvalidValue {
                    field: "public".into(),
                    value: other.into(),
                })
            }
        },
    })
}

#[derive(Serialize, Deserialize)]
struct EntryRow {
    category: String,
    territory: String,
    lead: String,
    #[serde(default)]
    co_handlers: String,
}

fn entry_from_row(row: EntryRow) -> Result<CatalogueEntry, whistle_core::error::DomainError> {
    Ok(CatalogueEntry {
        category: CategoryCode::parse(&row.category)?,
        territory: UnitCode::parse(&row.territory)?,
        lead: HandlerRule::parse(&row.lead)?,
        co_handlers: row
            .co_handlers
            .split(';')
            .filter(|s| !s.trim().is_empty())
            .map(HandlerRule::parse)
            .collect::<Result<_, _>>()?,
    })
}

#[derive(Serialize, Deserialize)]
struct WhistleItemRow {
    code: String,
    kind: String,
    title: String,
    territory: String,
    lead: String,
    #[serde(default)]
    assisting: String,
}

fn rules(text: &str) -> Result<Vec<HandlerRule>, whistle_core::error::DomainError> {
    text.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(HandlerRule::parse)
        .collect()
}

fn item_from_row(row: WhistleItemRow) -> Result<WhistleListItem, whistle_core::error::DomainError> {
    Ok(WhistleListItem {
        code: row.code.trim().to_string(),
        kind: row.kind.trim().parse()?,
        title: row.title.trim().to_string(),
        territory: UnitCode::parse(&row.territory)?,
        lead: HandlerRule::parse(&row.lead)?,
        assisting: rules(&row.assisting)?,
    })
}

pub fn whistle_list_to_csv<'a>(
    items: impl IntoIterator<Item = &'a WhistleListItem>,
) -> Result<String, StoreError> {
    let join = |rules: &[HandlerRule]| {
        rules
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(";")
    };
    write_csv(items.into_iter().map(|item| WhistleItemRow {
        code: item.code.clone(),
        kind: item.kind.to_string(),
        title: item.title.clone(),
        territory: item.territory.to_string(),
        lead: item.lead.to_string(),
        assisting: join(&item.assisting),
    }))
}

#[derive(Serialize, Deserialize)]
struct DutyRow {
    holder: String,
    category: String,
}

#[derive(Deserialize)]
struct DivisionNode {
    code: String,
    name: String,
    #[serde(default)]
    children: Vec<DivisionNode>,
}

/// Converts the division tree to units, with kinds from the code and name: the 7th digit of a
/// township-level code is 0 for 街道 (地区办事处 when named …地区), 1 镇, 2 乡, 4 statistical zone;
/// a village-level name with 村 is a village, otherwise a community.
pub fn divisions_to_units(text: &str) -> Result<Vec<Unit>, StoreError> {
    let root: DivisionNode = from_json(text)?;
    let mut units = Vec::new();
    fn walk(
        node: &DivisionNode,
        parent: Option<&UnitCode>,
        units: &mut Vec<Unit>,
    ) -> Result<(), StoreError> {
        let code = UnitCode::parse(&node.code)?;
        let kind = match node.code.len() {
            2 => UnitKind::City,
            6 => UnitKind::District,
            9 => match node.code.as_bytes()[6] {
                b'0' if node.name.ends_with("地区") => UnitKind::AreaOffice,
                b'0' => UnitKind::Subdistrict,
                b'1' => UnitKind::Town,
                b'2' => UnitKind::Township,
                _ => UnitKind::StatisticalZone,
            },
            12 if node.name.contains("村委会") || node.name.contains("村民委员会") => {
                UnitKind::Village
            }
            12 => UnitKind::Community,
            _ => {
                return Err(StoreError::Import(format!(
                    "division code {} has an unknown length",
                    node.code
                )))
            }
        };
        units.push(Unit {
            code: code.clone(),
            kind,
            name: node.name.clone(),
            parent: parent.cloned(),
            line: None,
            status: UnitStatus::Active,
            merged_into: None,
        });
        for child in &node.children {
            walk(child, Some(&code), units)?;
        }
        Ok(())
    }
    walk(&root, None, &mut units)?;
    Ok(units)
}

fn write_csv<T: Serialize>(rows: impl IntoIterator<Item = T>) -> Result<String, StoreError> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .map_err(|e| StoreError::Other(e.into()))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| StoreError::Other(anyhow::anyhow!("{e}")))?;
    String::from_utf8(bytes).map_err(|e| StoreError::Other(e.into()))
}

pub fn units_to_csv<'a>(units: impl IntoIterator<Item = &'a Unit>) -> Result<String, StoreError> {
    let mut units: Vec<&Unit> = units.into_iter().collect();
    units.sort_by(|a, b| a.code.cmp(&b.code));
    write_csv(units.into_iter().map(|u| {
        UnitRow {
            code: u.code.to_string(),
            kind: u.kind.to_string(),
            name: u.name.clone(),
            parent: u.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            line: u.line.clone().unwrap_or_default(),
            status: match u.status {
                UnitStatus::Active => "active".into(),
                UnitStatus::Retired => "retired".into(),
            },
            merged_into: u
                .merged_into
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
        }
    }))
}

pub fn categories_to_csv<'a>(
    categories: impl IntoIterator<Item = &'a Category>,
) -> Result<String, StoreError> {
    write_csv(categories.into_iter().map(|c| CategoryRow {
        code: c.code.to_string(),
        name_zh: c.name_zh.clone(),
        name_en: c.name_en.clone(),
        handler: c.handler.to_string(),
        urgency: c.urgency.to_string(),
        limit_class: c.limit_class.to_string(),
        public: c.public.to_string(),
    }))
}

pub fn catalogue_to_csv(entries: &[CatalogueEntry]) -> Result<String, StoreError> {
    let mut entries: Vec<&CatalogueEntry> = entries.iter().collect();
    entries.sort_by(|a, b| (&a.category, &a.territory).cmp(&(&b.category, &b.territory)));
    write_csv(entries.into_iter().map(|e| {
        EntryRow {
            category: e.category.to_string(),
            territory: e.territory.to_string(),
            lead: e.lead.to_string(),
            co_handlers: e
                .co_handlers
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(";"),
        }
    }))
}

pub fn duties_to_csv(duties: &[(DutyHolder, CategoryCode)]) -> Result<String, StoreError> {
    write_csv(duties.iter().map(|(holder, category)| DutyRow {
        holder: holder.to_string(),
        category: category.to_string(),
    }))
}

/// A calendar year in the `cn_workdays.json` shape.
pub fn calendar_to_json(years: &[&CalendarYear]) -> Result<String, StoreError> {
    let mut out = serde_json::Map::new();
    for year in years {
        let mut holidays = serde_json::Map::new();
        let mut makeup = serde_json::Map::new();
        for (date, (mark, name)) in &year.days {
            let target = if *mark == DayMark::Holiday {
                &mut holidays
            } else {
                &mut makeup
            };
            target.insert(date.to_string(), name.clone().into());
        }
        out.insert(
            year.year.to_string(),
            serde_json::json!({"holidays": holidays, "makeup_workdays": makeup}),
        );
    }
    serde_json::to_string_pretty(&serde_json::json!({"source": "whistle export", "years": out}))
        .map_err(|e| StoreError::Other(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_name_their_line() {
        let text = "code,kind,name,parent,line,status,merged_into\n11,city,北京市,,,active,\n110105,district,朝阳区,11,,bogus,\n";
        let error = parse(FileKind::Units, text.as_bytes(), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 3"), "{error}");
        let short = "code,kind,name,parent,line,status,merged_into\n11,city\n";
        let error = parse(FileKind::Units, short.as_bytes(), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2"), "{error}");
        let mut bytes = b"holder,category\nstreet,04.01\n".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let error = parse(FileKind::Duties, &bytes, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 3") && error.contains("UTF-8"),
            "{error}"
        );
        let catalogue = "category,territory,lead,co_handlers\n04.01,11,street,\n04.02,11,nobody,\n";
        let error = parse(FileKind::Catalogue, catalogue.as_bytes(), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn exports_round_trip() {
        let units = crate::seed::default_units().unwrap();
        let csv = units_to_csv(&units).unwrap();
        let ReferenceImport::Units(again) = parse(FileKind::Units, csv.as_bytes(), false).unwrap()
        else {
            panic!()
        };
        assert_eq!(again.len(), units.len());
    }
}
