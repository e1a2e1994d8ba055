//! Conversions between reference rows (as both backends store them) and domain types.

use whistle_core::calendar::CalendarYear;
use whistle_core::catalogue::{CatalogueEntry, DutyHolder, HandlerRule};
use whistle_core::ids::{CategoryCode, UnitCode};
use whistle_core::org::{Unit, UnitChange, UnitStatus};
use whistle_core::policy::Policy;
use whistle_core::taxonomy::Category;

use crate::types::StoreError;

fn optional(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

pub(crate) fn unit(f: [String; 7]) -> Result<Unit, StoreError> {
    Ok(Unit {
        code: UnitCode::parse(&f[0])?,
        kind: f[1].parse()?,
        name: f[2].clone(),
        parent: optional(&f[3]).map(UnitCode::parse).transpose()?,
        line: optional(&f[4]).map(str::to_string),
        status: if f[5] == "retired" {
            UnitStatus::Retired
        } else {
            UnitStatus::Active
        },
        merged_into: optional(&f[6]).map(UnitCode::parse).transpose()?,
    })
}

pub(crate) fn unit_fields(u: &Unit) -> [Option<String>; 7] {
    [
        Some(u.code.to_string()),
        Some(u.kind.to_string()),
        Some(u.name.clone()),
        u.parent.as_ref().map(|p| p.to_string()),
        u.line.clone(),
        Some(match u.status {
            UnitStatus::Active => "active".into(),
            UnitStatus::Retired => "retired".into(),
        }),
        u.merged_into.as_ref().map(|p| p.to_string()),
    ]
}

pub(crate) fn category(f: [String; 6], public: bool) -> Result<Category, StoreError> {
    Ok(Category {
        code: CategoryCode::parse(&f[0])?,
        name_zh: f[1].clone(),
        name_en: f[2].clone(),
        handler: HandlerRule::parse(&f[3])?,
        urgency: f[4].parse()?,
        limit_class: f[5].parse()?,
        public,
    })
}

pub(crate) fn entry(f: [String; 4]) -> Result<CatalogueEntry, StoreError> {
    Ok(CatalogueEntry {
        category: CategoryCode::parse(&f[0])?,
        territory: UnitCode::parse(&f[1])?,
        lead: HandlerRule::parse(&f[2])?,
        co_handlers: f[3]
            .split(';')
            .filter(|s| !s.is_empty())
            .map(HandlerRule::parse)
            .collect::<Result<_, _>>()?,
    })
}

pub(crate) fn entry_fields(e: &CatalogueEntry) -> [String; 4] {
    [
        e.category.to_string(),
        e.territory.to_string(),
        e.lead.to_string(),
        e.co_handlers
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(";"),
    ]
}

pub(crate) fn duty(holder: &str, category: &str) -> Result<(DutyHolder, CategoryCode), StoreError> {
    Ok((holder.parse()?, CategoryCode::parse(category)?))
}

pub(crate) fn calendar_year(json: &str) -> Result<CalendarYear, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("corrupt calendar year: {e}")))
}

pub(crate) fn calendar_days(year: &CalendarYear) -> Result<String, StoreError> {
    serde_json::to_string(year).map_err(|e| StoreError::Other(e.into()))
}

pub(crate) fn whistle_list(
    json: &str,
) -> Result<Vec<whistle_core::whistle::WhistleListItem>, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("corrupt stored whistle list: {e}")))
}

pub(crate) fn policy(json: &str) -> Result<Policy, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("corrupt stored policy: {e}")))
}

pub(crate) fn change_code(change: &UnitChange) -> String {
    match change {
        UnitChange::Added { unit } => unit.code.to_string(),
        UnitChange::Renamed { code, .. }
        | UnitChange::Merged { code, .. }
        | UnitChange::Retired { code } => code.to_string(),
    }
}
