//! Reference data as stored rows, built into a checked [`Reference`], and imports prepared
//! against it: the whole new reference is built and validated in memory before a backend writes
//! anything, so an import that would leave, say, a catalogue entry naming a missing category is
//! refused whole.

use async_trait::async_trait;
use std::sync::Arc;
use whistle_core::time::Timestamp;
pub mod import;
pub(crate) mod rows;
pub mod seed;
pub(crate) mod store;

use std::collections::BTreeMap;
use whistle_core::calendar::{CalendarYear, WorkCalendar};
use whistle_core::catalogue::{Catalogue, CatalogueEntry, DutyHolder, DutyLists};
use whistle_core::ids::{Actor, CategoryCode, UnitCode};
use whistle_core::org::{Directory, Unit, UnitChange};
use whistle_core::policy::Policy;
use whistle_core::reference::Reference;
use whistle_core::taxonomy::{Category, Taxonomy};
use whistle_core::whistle::{WhistleList, WhistleListItem};

use crate::types::{ImportReport, ReferenceImport, StoreError};

/// Reference data as a backend reads it.
#[derive(Clone, Debug, Default)]
pub(crate) struct RawReference {
    pub units: BTreeMap<UnitCode, Unit>,
    pub categories: BTreeMap<CategoryCode, Category>,
    pub catalogue_version: u32,
    pub catalogue: Vec<CatalogueEntry>,
    pub duties: Vec<(DutyHolder, CategoryCode)>,
    pub calendar: BTreeMap<i32, CalendarYear>,
    pub policy: Option<Policy>,
    pub whistle_list: Vec<WhistleListItem>,
}

/// What a backend writes for an import, in one transaction.
#[derive(Default)]
pub(crate) struct ImportWrites {
    pub units: Vec<Unit>,
    pub unit_changes: Vec<UnitChange>,
    pub categories: Vec<Category>,
    pub catalogue: Option<(u32, String, Vec<CatalogueEntry>)>,
    pub duties: Option<Vec<(DutyHolder, CategoryCode)>>,
    pub calendar: Vec<CalendarYear>,
    pub policy: Option<Policy>,
    pub whistle_list: Option<Vec<WhistleListItem>>,
}

pub(crate) const CITY: &str = "11";

impl RawReference {
    /// The evaluation period start day and counting basis of the stored policy (the defaults
    /// when none is stored): what the counters must be kept under.
    pub fn policy_counting(&self) -> (u32, whistle_core::evaluation::CountBasis) {
        let evaluation = self
            .policy
            .as_ref()
            .map(|p| p.evaluation.clone())
            .unwrap_or_else(|| Policy::default().evaluation);
        (evaluation.period_start_day, evaluation.count_by)
    }

    pub fn build(&self) -> Result<Reference, StoreError> {
        let directory = Directory::build(self.units.values().cloned().collect())?;
        let taxonomy = Taxonomy::build(self.categories.values().cloned().collect())?;
        let mut duties = DutyLists::default();
        for (holder, category) in &self.duties {
            if taxonomy.get(category).is_none() {
                return Err(whistle_core::error::DomainError::UnknownCategory(
                    category.to_string(),
                )
                .into());
            }
            match holder {
                DutyHolder::Street => duties.street.insert(category.clone()),
                DutyHolder::Community => duties.community.insert(category.clone()),
            };
        }
        let catalogue = Catalogue::build(
            self.catalogue_version,
            self.catalogue.clone(),
            &taxonomy,
            &directory,
            &duties,
        )?;
        let mut calendar = WorkCalendar::default();
        for year in self.calendar.values() {
            calendar.insert_year(year.clone());
        }
        let policy = self.policy.clone().unwrap_or_default();
        policy.validate()?;
        let city = UnitCode::parse(CITY)?;
        let whistle_list = WhistleList::build(self.whistle_list.clone(), &directory, &city)?;
        Ok(Reference {
            city,
            directory,
            taxonomy,
            catalogue,
            duties,
            calendar,
            policy,
            whistle_list,
        })
    }

    /// Applies an import to a copy, validates the result and says what to write.
    pub fn prepare(
        &self,
        import: ReferenceImport,
        _actor: &Actor,
    ) -> Result<(RawReference, ImportWrites, ImportReport, Reference), StoreError> {
        let mut next = self.clone();
        let mut writes = ImportWrites::default();
        let mut report = ImportReport::default();
        match import {
            ReferenceImport::Units(units) => {
                for unit in units {
                    match next.units.get(&unit.code) {
                        None => {
                            report.added += 1;
                            if !self.units.is_empty() {
                                writes
                                    .unit_changes
                                    .push(UnitChange::Added { unit: unit.clone() });
                            }
                        }
                        Some(old) if old == &unit => continue,
                        Some(old) => {
                            report.updated += 1;
                            if old.name != unit.name {
                                writes.unit_changes.push(UnitChange::Renamed {
                                    code: unit.code.clone(),
                                    from: old.name.clone(),
                                    to: unit.name.clone(),
                                });
                            }
                        }
                    }
                    next.units.insert(unit.code.clone(), unit.clone());
                    writes.units.push(unit);
                }
            }
            ReferenceImport::Categories(categories) => {
                for category in categories {
                    match next.categories.get(&category.code) {
                        None => report.added += 1,
                        Some(old) if old == &category => continue,
                        Some(_) => report.updated += 1,
                    }
                    next.categories
                        .insert(category.code.clone(), category.clone());
                    writes.categories.push(category);
                }
            }
            ReferenceImport::Catalogue { entries, note } => {
                if entries.is_empty() {
                    return Err(StoreError::Import("an empty catalogue".into()));
                }
                next.catalogue_version = self.catalogue_version + 1;
                next.catalogue = entries.clone();
                report.added = entries.len();
                report.catalogue_version = Some(next.catalogue_version);
                writes.catalogue = Some((next.catalogue_version, note, entries));
            }
            ReferenceImport::Duties(duties) => {
                report.added = duties.len();
                next.duties = duties.clone();
                writes.duties = Some(duties);
            }
            ReferenceImport::Calendar(years) => {
                for year in years {
                    if next.calendar.insert(year.year, year.clone()).is_some() {
                        report.updated += 1;
                    } else {
                        report.added += 1;
                    }
                    writes.calendar.push(year);
                }
            }
            ReferenceImport::WhistleList(items) => {
                report.added = items.len();
                next.whistle_list = items.clone();
                writes.whistle_list = Some(items);
            }
            ReferenceImport::Policy(policy) => {
                policy.validate()?;
                report.updated = 1;
                next.policy = Some((*policy).clone());
                writes.policy = Some(*policy);
            }
        }
        let built = next.build()?;
        Ok((next, writes, report, built))
    }

    /// Applies a unit change to a copy and validates the result.
    pub fn prepare_change(
        &self,
        change: &UnitChange,
    ) -> Result<(RawReference, Unit, Reference), StoreError> {
        let mut directory = Directory::build(self.units.values().cloned().collect())?;
        directory.apply_change(change)?;
        let code = match change {
            UnitChange::Added { unit } => {
                if self.units.contains_key(&unit.code) {
                    return Err(StoreError::Import(format!(
                        "unit {} already exists",
                        unit.code
                    )));
                }
                unit.code.clone()
            }
            UnitChange::Renamed { code, .. }
            | UnitChange::Merged { code, .. }
            | UnitChange::Retired { code } => code.clone(),
        };
        let unit = directory.require(&code)?.clone();
        let mut next = self.clone();
        next.units.insert(code, unit.clone());
        let built = next.build()?;
        Ok((next, unit, built))
    }
}

/// Reference data (units, taxonomy, catalogue, duties, calendar, policy) and settings, written
/// once for both backends ([`store`]).
#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// The current reference data (units, taxonomy, catalogue, duties, calendar, policy).
    fn reference(&self) -> Arc<Reference>;

    /// Imports reference data in one transaction and swaps the snapshot; nothing on error.
    async fn import(
        &self,
        import: ReferenceImport,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<ImportReport, StoreError>;

    /// Renames, merges, retires or adds a unit, recording the change.
    async fn change_unit(
        &self,
        change: UnitChange,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The entries of a catalogue version (old versions stay readable).
    async fn catalogue_entries(
        &self,
        version: u32,
    ) -> Result<Vec<whistle_core::catalogue::CatalogueEntry>, StoreError>;

    /// The recorded unit changes, oldest first.
    async fn unit_changes(&self) -> Result<Vec<(Timestamp, String, UnitChange)>, StoreError>;

    /// A stored setting (JSON text) by key, e.g. the chosen topics of the month.
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Stores a setting (JSON text), replacing the previous value, in one transaction.
    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<T: crate::db::Database> ReferenceStore for T {
    fn reference(&self) -> Arc<Reference> {
        crate::db::current(self.shared_reference())
    }

    async fn import(
        &self,
        import: ReferenceImport,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<ImportReport, StoreError> {
        let who = actor.clone();
        let (report, built) = crate::reference::store::change(
            self,
            move |raw| {
                let (_, writes, report, built) = raw.prepare(import, &who)?;
                Ok((writes, built, report))
            },
            actor,
            at,
        )
        .await?;
        crate::db::swap(self.shared_reference(), built);
        Ok(report)
    }

    async fn change_unit(
        &self,
        change: UnitChange,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (_, built) = crate::reference::store::change(
            self,
            move |raw| {
                let (_, unit, built) = raw.prepare_change(&change)?;
                let writes = ImportWrites {
                    units: vec![unit],
                    unit_changes: vec![change],
                    ..ImportWrites::default()
                };
                Ok((writes, built, ImportReport::default()))
            },
            actor,
            at,
        )
        .await?;
        crate::db::swap(self.shared_reference(), built);
        Ok(())
    }

    async fn catalogue_entries(&self, version: u32) -> Result<Vec<CatalogueEntry>, StoreError> {
        crate::reference::store::catalogue_entries(self, version).await
    }

    async fn unit_changes(&self) -> Result<Vec<(Timestamp, String, UnitChange)>, StoreError> {
        crate::reference::store::unit_changes(self).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        crate::settings::setting(self, key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        crate::settings::put_setting(self, key, value).await
    }
}
