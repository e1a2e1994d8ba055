//! The whistle list (专项清单, "吹哨事项清单"): the problems a street or township may whistle
//! for, grouped by kind, each naming its default lead and assisting units by the catalogue's
//! handler rules (`district:LINE`, `city:LINE`, `enterprise:LINE`, `unit:CODE`). An item may be
//! city-wide or belong to one district or street; for an item code the street's own item beats
//! its district's, which beats the city's. A whistle outside the list needs a written reason.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::WhistleKind;
use crate::catalogue::{resolve_rule, HandlerRule, Territory};
use crate::error::DomainError;
use crate::ids::UnitCode;
use crate::org::Directory;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhistleListItem {
    /// Stable code, lowercase ASCII letters, digits and `-` (e.g. `illegal-building`).
    pub code: String,
    pub kind: WhistleKind,
    /// What the street sees, e.g. 违法建设拆除.
    pub title: String,
    /// The city, a district or a street/township the item applies to.
    pub territory: UnitCode,
    pub lead: HandlerRule,
    #[serde(default)]
    pub assisting: Vec<HandlerRule>,
}

/// The checked list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WhistleList {
    /// By code, then by territory.
    items: BTreeMap<String, BTreeMap<UnitCode, WhistleListItem>>,
}

fn bad(field: &str, value: &str) -> DomainError {
    DomainError::InvalidValue {
        field: field.into(),
        value: value.chars().take(60).collect(),
    }
}

impl WhistleList {
    /// Checks every item: valid code and title, a known city/district/street territory, rules
    /// whose lines exist, no explicit unit that cannot handle, no duplicate (code, territory).
    pub fn build(
        items: Vec<WhistleListItem>,
        directory: &Directory,
        city: &UnitCode,
    ) -> Result<WhistleList, DomainError> {
        let mut list = WhistleList::default();
        let lines: BTreeSet<&str> = directory
            .units()
            .filter_map(|unit| unit.line.as_deref())
            .collect();
        for item in items {
            if item.code.is_empty()
                || item.code.len() > 64
                || !item
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(bad("code", &item.code));
            }
            if item.title.trim().is_empty() || item.title.chars().count() > 100 {
                return Err(bad("title", &item.title));
            }
            let territory = directory.require(&item.territory)?;
            if &territory.code != city
                && !territory.kind.is_street_level()
                && territory.kind != crate::org::UnitKind::District
            {
                return Err(bad("territory", item.territory.as_str()));
            }
            for rule in std::iter::once(&item.lead).chain(&item.assisting) {
                match rule {
                    HandlerRule::Street | HandlerRule::Community => {
                        // The street whistles; it does not summon itself.
                        return Err(bad("lead", &rule.to_string()));
                    }
                    HandlerRule::Unit(code) => {
                        directory.check_handler(code)?;
                    }
                    HandlerRule::District(line)
                    | HandlerRule::City(line)
                    | HandlerRule::Enterprise(line) => {
                        if !lines.contains(line.as_str()) {
                            return Err(DomainError::InvalidReference(format!(
                                "no department or enterprise has line {line}"
                            )));
                        }
                    }
                }
            }
            let by_territory = list.items.entry(item.code.clone()).or_default();
            if let Some(other) = by_territory.values().next() {
                if other.kind != item.kind {
                    return Err(bad("kind", item.kind.as_str()));
                }
            }
            if by_territory.insert(item.territory.clone(), item).is_some() {
                return Err(DomainError::InvalidReference(
                    "an item code appears twice for one territory".into(),
                ));
            }
        }
        Ok(list)
    }

    pub fn len(&self) -> usize {
        self.items.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every stored item, ordered by code and territory (for export).
    pub fn items(&self) -> impl Iterator<Item = &WhistleListItem> {
        self.items.values().flat_map(BTreeMap::values)
    }

    /// The item `code` as it applies to `street` (the most specific territory), if any.
    pub fn item_for(
        &self,
        code: &str,
        street: &UnitCode,
        directory: &Directory,
    ) -> Option<&WhistleListItem> {
        let by_territory = self.items.get(code)?;
        std::iter::once(street.clone())
            .chain(directory.ancestors(street).map(|unit| unit.code.clone()))
            .find_map(|territory| by_territory.get(&territory))
    }

    /// The list a street sees: one item per code, the most specific, ordered by kind and code.
    pub fn for_street(&self, street: &UnitCode, directory: &Directory) -> Vec<&WhistleListItem> {
        let mut items: Vec<&WhistleListItem> = self
            .items
            .keys()
            .filter_map(|code| self.item_for(code, street, directory))
            .collect();
        items.sort_by(|a, b| (a.kind, &a.code).cmp(&(b.kind, &b.code)));
        items
    }

    /// The default lead and assisting units of `item` for `street`, resolved in its district.
    pub fn resolve(
        item: &WhistleListItem,
        street: &UnitCode,
        directory: &Directory,
        city: &UnitCode,
    ) -> Result<(UnitCode, Vec<UnitCode>), DomainError> {
        let territory = Territory {
            district: directory.district_of(street).map(|d| d.code.clone()),
            street: Some(street.clone()),
            community: None,
        };
        let no_route = || DomainError::NoRoute {
            category: item.code.clone(),
            territory: street.to_string(),
        };
        let (lead, _) =
            resolve_rule(&item.lead, &territory, directory, city).ok_or_else(no_route)?;
        let mut assisting = Vec::new();
        for rule in &item.assisting {
            if let Some((unit, _)) = resolve_rule(rule, &territory, directory, city) {
                if unit != lead && !assisting.contains(&unit) {
                    assisting.push(unit);
                }
            }
        }
        Ok((lead, assisting))
    }
}
