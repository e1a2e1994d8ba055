//! The dispatch catalogue (派单目录): (category, territory) → the lead handling unit and its
//! co-handlers, and the duty lists (职责清单) that bound what streets and communities may lead.
//!
//! Entries name handlers by rule rather than by unit so that one line covers all 343 streets:
//! `street` (属地管理: the street/township of the location), `district:LINE` and `city:LINE`
//! (职权法定: the responsible department of that district or of the city), `enterprise:LINE`
//! (the public-service enterprise), `community`, or `unit:CODE` for an explicit unit. The most
//! specific entry wins: the category's own code before its ancestors, and for each category
//! code the street's entry before the district's before the city's.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::error::DomainError;
use crate::ids::{CategoryCode, UnitCode};
use crate::org::{Directory, UnitKind};
use crate::taxonomy::Taxonomy;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub enum HandlerRule {
    /// 属地管理: the street/township of the location (the district, to coordinate, if unknown).
    Street,
    /// The community/village of the location, within its duty list.
    Community,
    /// The department of this line in the location's district.
    District(String),
    /// The city-level department of this line.
    City(String),
    /// The public-service enterprise of this line.
    Enterprise(String),
    /// An explicit unit.
    Unit(UnitCode),
}

impl HandlerRule {
    pub fn parse(text: &str) -> Result<HandlerRule, DomainError> {
        let bad = || DomainError::InvalidValue {
            field: "handler".into(),
            value: text.chars().take(60).collect(),
        };
        let line = |value: &str| {
            if !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
            {
                Ok(value.to_string())
            } else {
                Err(bad())
            }
        };
        match text.trim().split_once(':') {
            None if text.trim() == "street" => Ok(HandlerRule::Street),
            None if text.trim() == "community" => Ok(HandlerRule::Community),
            Some(("district", value)) => Ok(HandlerRule::District(line(value)?)),
            Some(("city", value)) => Ok(HandlerRule::City(line(value)?)),
            Some(("enterprise", value)) => Ok(HandlerRule::Enterprise(line(value)?)),
            Some(("unit", value)) => Ok(HandlerRule::Unit(
                UnitCode::parse(value).map_err(|_| bad())?,
            )),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for HandlerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerRule::Street => f.write_str("street"),
            HandlerRule::Community => f.write_str("community"),
            HandlerRule::District(line) => write!(f, "district:{line}"),
            HandlerRule::City(line) => write!(f, "city:{line}"),
            HandlerRule::Enterprise(line) => write!(f, "enterprise:{line}"),
            HandlerRule::Unit(code) => write!(f, "unit:{code}"),
        }
    }
}

impl FromStr for HandlerRule {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HandlerRule::parse(s)
    }
}

impl TryFrom<String> for HandlerRule {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        HandlerRule::parse(&value)
    }
}

impl From<HandlerRule> for String {
    fn from(value: HandlerRule) -> String {
        value.to_string()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CatalogueEntry {
    /// A category at any level; a leaf's own entry beats its ancestors'.
    pub category: CategoryCode,
    /// The city, a district or a street/township.
    pub territory: UnitCode,
    pub lead: HandlerRule,
    #[serde(default)]
    pub co_handlers: Vec<HandlerRule>,
}

/// Which level a duty list binds.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DutyHolder {
    /// 街道（乡镇）职责清单
    Street,
    /// 社区（村）职责清单
    Community,
}

crate::taxonomy::str_enum!(DutyHolder, "duty holder", Street => "street", Community => "community");

/// The duty lists: the categories (with their descendants) a street or a community may lead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DutyLists {
    pub street: BTreeSet<CategoryCode>,
    pub community: BTreeSet<CategoryCode>,
}

impl DutyLists {
    pub fn allows(&self, holder: DutyHolder, category: &CategoryCode) -> bool {
        let list = match holder {
            DutyHolder::Street => &self.street,
            DutyHolder::Community => &self.community,
        };
        category
            .lineage()
            .any(|code| list.iter().any(|item| item.as_str() == code))
    }

    /// Refuses a community (or street) as lead of a category outside its list (Regulation art. 17).
    pub fn check_lead(
        &self,
        kind: UnitKind,
        unit: &UnitCode,
        category: &CategoryCode,
    ) -> Result<(), DomainError> {
        let holder = if kind.is_community_level() {
            DutyHolder::Community
        } else if kind.is_street_level() {
            DutyHolder::Street
        } else {
            return Ok(());
        };
        if self.allows(holder, category) {
            Ok(())
        } else {
            Err(DomainError::OutsideDutyList {
                unit: unit.to_string(),
                category: category.to_string(),
            })
        }
    }
}

/// Where a request is: the territorial units it lies in, as far as known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Territory {
    pub district: Option<UnitCode>,
    pub street: Option<UnitCode>,
    pub community: Option<UnitCode>,
}

/// The result of routing: who leads, who assists, and whether the district coordinates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Route {
    pub lead: UnitCode,
    pub co_handlers: Vec<UnitCode>,
    /// True when only the district was known and it receives the order to coordinate.
    pub coordination: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub version: u32,
    entries: HashMap<(CategoryCode, UnitCode), CatalogueEntry>,
}

impl Catalogue {
    /// Builds and checks a catalogue against the taxonomy, the directory and the duty lists.
    pub fn build(
        version: u32,
        entries: Vec<CatalogueEntry>,
        taxonomy: &Taxonomy,
        directory: &Directory,
        duties: &DutyLists,
    ) -> Result<Catalogue, DomainError> {
        let mut map = HashMap::new();
        for entry in entries {
            if taxonomy.get(&entry.category).is_none() {
                return Err(DomainError::UnknownCategory(entry.category.to_string()));
            }
            let territory = directory.require(&entry.territory)?;
            if !matches!(territory.kind, UnitKind::City | UnitKind::District)
                && !territory.kind.is_street_level()
            {
                return Err(DomainError::InvalidReference(format!(
                    "catalogue territory {} must be the city, a district or a street/township",
                    entry.territory
                )));
            }
            for rule in std::iter::once(&entry.lead).chain(entry.co_handlers.iter()) {
                check_rule(
                    rule,
                    &entry.category,
                    directory,
                    duties,
                    rule == &entry.lead,
                )?;
            }
            let key = (entry.category.clone(), entry.territory.clone());
            if map.insert(key, entry.clone()).is_some() {
                return Err(DomainError::InvalidReference(format!(
                    "catalogue has two entries for {} in {}",
                    entry.category, entry.territory
                )));
            }
        }
        Ok(Catalogue {
            version,
            entries: map,
        })
    }

    pub fn entries(&self) -> impl Iterator<Item = &CatalogueEntry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most specific entry for a category in a territory.
    pub fn entry_for(
        &self,
        category: &CategoryCode,
        territory: &Territory,
        city: &UnitCode,
    ) -> Option<&CatalogueEntry> {
        let places: Vec<&UnitCode> = [
            territory.street.as_ref(),
            territory.district.as_ref(),
            Some(city),
        ]
        .into_iter()
        .flatten()
        .collect();
        for code in category.lineage() {
            let Ok(code) = CategoryCode::parse(code) else {
                continue;
            };
            for place in &places {
                if let Some(entry) = self.entries.get(&(code.clone(), (*place).clone())) {
                    return Some(entry);
                }
            }
        }
        None
    }

    /// Routes a request: the lead unit and co-handlers for `category` at `territory`.
    pub fn route(
        &self,
        category: &CategoryCode,
        territory: &Territory,
        directory: &Directory,
        duties: &DutyLists,
        city: &UnitCode,
    ) -> Result<Route, DomainError> {
        let place = territory
            .street
            .as_ref()
            .or(territory.district.as_ref())
            .unwrap_or(city);
        let no_route = || DomainError::NoRoute {
            category: category.to_string(),
            territory: place.to_string(),
        };
        let entry = self
            .entry_for(category, territory, city)
            .ok_or_else(no_route)?;
        let (lead, coordination) =
            resolve_rule(&entry.lead, territory, directory, city).ok_or_else(no_route)?;
        let lead_unit = directory.check_handler(&lead)?;
        duties.check_lead(lead_unit.kind, &lead, category)?;
        let mut co_handlers = Vec::new();
        for rule in &entry.co_handlers {
            if let Some((code, _)) = resolve_rule(rule, territory, directory, city) {
                if code != lead
                    && !co_handlers.contains(&code)
                    && directory.check_handler(&code).is_ok()
                {
                    co_handlers.push(code);
                }
            }
        }
        Ok(Route {
            lead,
            co_handlers,
            coordination,
        })
    }
}

/// Resolves a rule at a territory to a unit; the flag says the district receives it to coordinate.
pub(crate) fn resolve_rule(
    rule: &HandlerRule,
    territory: &Territory,
    directory: &Directory,
    city: &UnitCode,
) -> Option<(UnitCode, bool)> {
    let district_coordinates = || territory.district.clone().map(|district| (district, true));
    // A statistical zone is a territory but not a handler: its district coordinates.
    let handler = |code: &Option<UnitCode>| {
        code.clone()
            .filter(|c| directory.get(c).is_some_and(|u| u.kind.can_handle()))
    };
    match rule {
        HandlerRule::Street => handler(&territory.street)
            .map(|street| (street, false))
            .or_else(district_coordinates),
        HandlerRule::Community => handler(&territory.community)
            .or_else(|| handler(&territory.street))
            .map(|code| (code, false))
            .or_else(district_coordinates),
        HandlerRule::District(line) => {
            let district = territory.district.as_ref()?;
            directory
                .line_unit(district, line)
                .map(|unit| (unit.code.clone(), false))
        }
        HandlerRule::City(line) | HandlerRule::Enterprise(line) => directory
            .line_unit(city, line)
            .map(|unit| (unit.code.clone(), false)),
        HandlerRule::Unit(code) => Some((code.clone(), false)),
    }
}

fn check_rule(
    rule: &HandlerRule,
    category: &CategoryCode,
    directory: &Directory,
    duties: &DutyLists,
    is_lead: bool,
) -> Result<(), DomainError> {
    match rule {
        HandlerRule::Street if is_lead && !duties.allows(DutyHolder::Street, category) => {
            Err(DomainError::OutsideDutyList {
                unit: "street".into(),
                category: category.to_string(),
            })
        }
        HandlerRule::Community if is_lead && !duties.allows(DutyHolder::Community, category) => {
            Err(DomainError::OutsideDutyList {
                unit: "community".into(),
                category: category.to_string(),
            })
        }
        HandlerRule::Unit(code) => {
            let unit = directory.check_handler(code)?;
            if is_lead {
                duties.check_lead(unit.kind, code, category)?;
            }
            Ok(())
        }
        HandlerRule::District(line) | HandlerRule::City(line) | HandlerRule::Enterprise(line) => {
            let exists = directory
                .units()
                .any(|unit| unit.line.as_deref() == Some(line.as_str()));
            if exists {
                Ok(())
            } else {
                Err(DomainError::InvalidReference(format!(
                    "no department or enterprise has line {line}"
                )))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_rules_round_trip() {
        for text in [
            "street",
            "community",
            "district:urban-management",
            "city:housing",
            "enterprise:power",
            "unit:110105010",
        ] {
            assert_eq!(HandlerRule::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "",
            "streets",
            "district:",
            "district:Urban",
            "unit:X Y",
            "bogus:x",
        ] {
            assert!(HandlerRule::parse(bad).is_err(), "{bad}");
        }
    }
}
