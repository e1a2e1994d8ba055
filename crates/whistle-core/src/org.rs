//! The organisation model (DOMAIN §2): territories, departments, enterprises, stationed units and
//! dispatch centres, each with a stable code. Units are never deleted: they are renamed, merged
//! into another unit or retired, so every historical order still names a unit that exists.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::error::DomainError;
use crate::ids::UnitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 市
    City,
    /// 区
    District,
    /// 街道 (street office)
    Subdistrict,
    /// 地区办事处 (area office, a township that also runs a street office)
    AreaOffice,
    /// 镇
    Town,
    /// 乡
    Township,
    /// Statistical-only zone (development zones, the airport): a territory, never a handler.
    StatisticalZone,
    /// 社区 (residents' committee)
    Community,
    /// 村 (villagers' committee)
    Village,
    /// 网格
    Grid,
    /// 街巷
    Lane,
    /// 职能部门 at city or district level
    Department,
    /// 公共服务企业
    Enterprise,
    /// 驻区单位
    StationedUnit,
    /// 12345 centre or a district sub-centre
    DispatchCenter,
}

impl UnitKind {
    pub const ALL: [UnitKind; 15] = [
        UnitKind::City,
        UnitKind::District,
        UnitKind::Subdistrict,
        UnitKind::AreaOffice,
        UnitKind::Town,
        UnitKind::Township,
        UnitKind::StatisticalZone,
        UnitKind::Community,
        UnitKind::Village,
        UnitKind::Grid,
        UnitKind::Lane,
        UnitKind::Department,
        UnitKind::Enterprise,
        UnitKind::StationedUnit,
        UnitKind::DispatchCenter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::City => "city",
            UnitKind::District => "district",
            UnitKind::Subdistrict => "subdistrict",
            UnitKind::AreaOffice => "area_office",
            UnitKind::Town => "town",
            UnitKind::Township => "township",
            UnitKind::StatisticalZone => "statistical_zone",
            UnitKind::Community => "community",
            UnitKind::Village => "village",
            UnitKind::Grid => "grid",
            UnitKind::Lane => "lane",
            UnitKind::Department => "department",
            UnitKind::Enterprise => "enterprise",
            UnitKind::StationedUnit => "stationed_unit",
            UnitKind::DispatchCenter => "dispatch_center",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::City => "市",
            UnitKind::District => "区",
            UnitKind::Subdistrict => "街道",
            UnitKind::AreaOffice => "地区办事处",
            UnitKind::Town => "镇",
            UnitKind::Township => "乡",
            UnitKind::StatisticalZone => "统计区",
            UnitKind::Community => "社区",
            UnitKind::Village => "村",
            UnitKind::Grid => "网格",
            UnitKind::Lane => "街巷",
            UnitKind::Department => "职能部门",
            UnitKind::Enterprise => "公共服务企业",
            UnitKind::StationedUnit => "驻区单位",
            UnitKind::DispatchCenter => "派单中心",
        }
    }

    /// 街乡: the street/township level, the hub of handling and whistling.
    pub fn is_street_level(self) -> bool {
        matches!(
            self,
            UnitKind::Subdistrict | UnitKind::AreaOffice | UnitKind::Town | UnitKind::Township
        )
    }

    pub fn is_community_level(self) -> bool {
        matches!(self, UnitKind::Community | UnitKind::Village)
    }

    /// Whether orders may be dispatched to a unit of this kind. Districts receive orders for
    /// coordination when only the district is known; statistical zones, grids and lanes never do.
    pub fn can_handle(self) -> bool {
        matches!(
            self,
            UnitKind::District
                | UnitKind::Subdistrict
                | UnitKind::AreaOffice
                | UnitKind::Town
                | UnitKind::Township
                | UnitKind::Community
                | UnitKind::Village
                | UnitKind::Department
                | UnitKind::Enterprise
                | UnitKind::StationedUnit
        )
    }
}

impl FromStr for UnitKind {
    type Err = DomainError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        UnitKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| DomainError::InvalidValue {
                field: "unit kind".into(),
                value: text.chars().take(30).collect(),
            })
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Active,
    Retired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unit {
    pub code: UnitCode,
    pub kind: UnitKind,
    pub name: String,
    /// The territory or unit this one belongs to (a department's parent is its city or district).
    pub parent: Option<UnitCode>,
    /// The functional line of a department or enterprise (`urban-management`, `power` …).
    pub line: Option<String>,
    pub status: UnitStatus,
    /// When merged, the unit that took over its work.
    pub merged_into: Option<UnitCode>,
}

/// A change to a unit, recorded so that history stays explainable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum UnitChange {
    Added {
        unit: Unit,
    },
    Renamed {
        code: UnitCode,
        from: String,
        to: String,
    },
    Merged {
        code: UnitCode,
        into: UnitCode,
    },
    Retired {
        code: UnitCode,
    },
}

/// All units, indexed for the lookups the engine makes on every command.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    units: HashMap<UnitCode, Unit>,
    children: HashMap<UnitCode, Vec<UnitCode>>,
    /// (territory, line) → department or enterprise serving that territory.
    lines: HashMap<(UnitCode, String), UnitCode>,
}

impl Directory {
    /// Builds and checks a directory: unique codes, known parents, a parent chain without cycles,
    /// departments and enterprises with a line.
    pub fn build(units: Vec<Unit>) -> Result<Directory, DomainError> {
        let mut directory = Directory::default();
        for unit in units {
            let code = unit.code.clone();
            if directory.units.insert(code.clone(), unit).is_some() {
                return Err(DomainError::InvalidReference(format!(
                    "unit {code} appears twice"
                )));
            }
        }
        let mut codes: Vec<&UnitCode> = directory.units.keys().collect();
        codes.sort();
        for code in codes {
            let unit = &directory.units[code];
            if let Some(parent) = &unit.parent {
                if !directory.units.contains_key(parent) {
                    return Err(DomainError::InvalidReference(format!(
                        "unit {code} has unknown parent {parent}"
                    )));
                }
                directory
                    .children
                    .entry(parent.clone())
                    .or_default()
                    .push(code.clone());
            }
            if let Some(target) = &unit.merged_into {
                if !directory.units.contains_key(target) {
                    return Err(DomainError::InvalidReference(format!(
                        "unit {code} merged into unknown {target}"
                    )));
                }
            }
            if matches!(unit.kind, UnitKind::Department | UnitKind::Enterprise) {
                let line = unit.line.clone().ok_or_else(|| {
                    DomainError::InvalidReference(format!(
                        "department or enterprise {code} has no line"
                    ))
                })?;
                if let (Some(parent), UnitStatus::Active) = (&unit.parent, unit.status) {
                    directory.lines.insert((parent.clone(), line), code.clone());
                }
            }
        }
        for children in directory.children.values_mut() {
            children.sort();
        }
        for code in directory.units.keys() {
            let mut steps = 0;
            let mut current = directory.units[code].parent.as_ref();
            while let Some(parent) = current {
                steps += 1;
                if steps > 16 {
                    return Err(DomainError::InvalidReference(format!(
                        "unit {code} has a parent cycle"
                    )));
                }
                current = directory.units[parent].parent.as_ref();
            }
        }
        Ok(directory)
    }

    pub fn get(&self, code: &UnitCode) -> Option<&Unit> {
        self.units.get(code)
    }

    pub fn require(&self, code: &UnitCode) -> Result<&Unit, DomainError> {
        self.units
            .get(code)
            .ok_or_else(|| DomainError::UnknownUnit(code.to_string()))
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    pub fn children(&self, code: &UnitCode) -> &[UnitCode] {
        self.children.get(code).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The ancestors of a unit, nearest first.
    pub fn ancestors<'a>(&'a self, code: &UnitCode) -> impl Iterator<Item = &'a Unit> + 'a {
        let mut current = self.units.get(code).and_then(|unit| unit.parent.as_ref());
        std::iter::from_fn(move || {
            let unit = self.units.get(current?)?;
            current = unit.parent.as_ref();
            Some(unit)
        })
    }

    /// The nearest ancestor-or-self of the given kind.
    pub fn enclosing(&self, code: &UnitCode, pred: impl Fn(UnitKind) -> bool) -> Option<&Unit> {
        let unit = self.units.get(code)?;
        if pred(unit.kind) {
            return Some(unit);
        }
        self.ancestors(code).find(|unit| pred(unit.kind))
    }

    /// The district a unit lies in or serves (a district department's district, a street's district).
    pub fn district_of(&self, code: &UnitCode) -> Option<&Unit> {
        self.enclosing(code, |kind| kind == UnitKind::District)
    }

    /// The active department or enterprise of `line` attached to `territory`.
    pub fn line_unit(&self, territory: &UnitCode, line: &str) -> Option<&Unit> {
        self.lines
            .get(&(territory.clone(), line.to_string()))
            .and_then(|code| self.units.get(code))
    }

    /// Checks that an order may be dispatched to `code` right now.
    pub fn check_handler(&self, code: &UnitCode) -> Result<&Unit, DomainError> {
        let unit = self.require(code)?;
        if unit.status == UnitStatus::Retired {
            return Err(DomainError::UnitRetired(code.to_string()));
        }
        if !unit.kind.can_handle() {
            return Err(DomainError::NotAHandlingUnit(code.to_string()));
        }
        Ok(unit)
    }

    /// Applies a unit change, checking it first; the directory is unchanged on error.
    pub fn apply_change(&mut self, change: &UnitChange) -> Result<(), DomainError> {
        let mut units: Vec<Unit> = self.units.values().cloned().collect();
        match change {
            UnitChange::Added { unit } => units.push(unit.clone()),
            UnitChange::Renamed { code, to, .. } => {
                if to.trim().is_empty() {
                    return Err(DomainError::InvalidValue {
                        field: "name".into(),
                        value: to.clone(),
                    });
                }
                find_mut(&mut units, code)?.name = to.clone();
            }
            UnitChange::Merged { code, into } => {
                if code == into {
                    return Err(DomainError::SelfReference);
                }
                let target = self.require(into)?;
                if target.status == UnitStatus::Retired {
                    return Err(DomainError::UnitRetired(into.to_string()));
                }
                let unit = find_mut(&mut units, code)?;
                unit.status = UnitStatus::Retired;
                unit.merged_into = Some(into.clone());
            }
            UnitChange::Retired { code } => {
                find_mut(&mut units, code)?.status = UnitStatus::Retired
            }
        }
        *self = Directory::build(units)?;
        Ok(())
    }
}

fn find_mut<'a>(units: &'a mut [Unit], code: &UnitCode) -> Result<&'a mut Unit, DomainError> {
    units
        .iter_mut()
        .find(|unit| &unit.code == code)
        .ok_or_else(|| DomainError::UnknownUnit(code.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, kind: UnitKind, parent: Option<&str>, line: Option<&str>) -> Unit {
        Unit {
            code: UnitCode::parse(code).unwrap(),
            kind,
            name: code.to_string(),
            parent: parent.map(|p| UnitCode::parse(p).unwrap()),
            line: line.map(str::to_string),
            status: UnitStatus::Active,
            merged_into: None,
        }
    }

    fn small() -> Directory {
        Directory::build(vec![
            unit("11", UnitKind::City, None, None),
            unit("110105", UnitKind::District, Some("11"), None),
            unit("110105010", UnitKind::Subdistrict, Some("110105"), None),
            unit("110105011", UnitKind::Subdistrict, Some("110105"), None),
            unit("110105010001", UnitKind::Community, Some("110105010"), None),
            unit(
                "110105.dept.water",
                UnitKind::Department,
                Some("110105"),
                Some("water"),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn lookups() {
        let directory = small();
        let community = UnitCode::parse("110105010001").unwrap();
        assert_eq!(
            directory.district_of(&community).unwrap().code.as_str(),
            "110105"
        );
        let street = directory
            .enclosing(&community, UnitKind::is_street_level)
            .unwrap();
        assert_eq!(street.code.as_str(), "110105010");
        let district = UnitCode::parse("110105").unwrap();
        assert_eq!(
            directory
                .line_unit(&district, "water")
                .unwrap()
                .code
                .as_str(),
            "110105.dept.water"
        );
        assert_eq!(directory.children(&district).len(), 3);
    }

    #[test]
    fn merge_retires_and_keeps_history() {
        let mut directory = small();
        let old = UnitCode::parse("110105011").unwrap();
        let new = UnitCode::parse("110105010").unwrap();
        directory
            .apply_change(&UnitChange::Merged {
                code: old.clone(),
                into: new.clone(),
            })
            .unwrap();
        assert_eq!(
            directory.get(&old).unwrap().merged_into.as_ref(),
            Some(&new)
        );
        assert_eq!(
            directory.check_handler(&old).unwrap_err().key(),
            "unit_retired"
        );
        // Merging into a retired unit is refused and changes nothing.
        let before = directory.len();
        let error = directory
            .apply_change(&UnitChange::Merged {
                code: new.clone(),
                into: old.clone(),
            })
            .unwrap_err();
        assert_eq!(error.key(), "unit_retired");
        assert_eq!(directory.len(), before);
        assert_eq!(directory.get(&new).unwrap().status, UnitStatus::Active);
    }

    #[test]
    fn bad_directories_are_refused() {
        let orphan = vec![unit("110105", UnitKind::District, Some("11"), None)];
        assert!(Directory::build(orphan).is_err());
        let twice = vec![
            unit("11", UnitKind::City, None, None),
            unit("11", UnitKind::City, None, None),
        ];
        assert!(Directory::build(twice).is_err());
        let lineless = vec![
            unit("11", UnitKind::City, None, None),
            unit("11.dept.x", UnitKind::Department, Some("11"), None),
        ];
        assert!(Directory::build(lineless).is_err());
    }
}
