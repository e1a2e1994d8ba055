//! The reference data shipped in `data/`, compiled into the binary so `whistle init` needs no
//! file and no network. See `data/PROVENANCE.md`.

use whistle_core::calendar::parse_workdays_json;
use whistle_core::org::Unit;

use crate::import::{divisions_to_units, parse, FileKind};
use crate::types::{ReferenceImport, StoreError};

pub const DIVISIONS_JSON: &str = include_str!("../../../../data/divisions/beijing_divisions.json");
pub const UNITS_CSV: &str = include_str!("../../../../data/units/units.csv");
pub const CATEGORIES_CSV: &str = include_str!("../../../../data/taxonomy/categories.csv");
pub const CATALOGUE_CSV: &str = include_str!("../../../../data/catalogue/catalogue.csv");
pub const DUTIES_CSV: &str = include_str!("../../../../data/catalogue/duties.csv");
pub const WHISTLE_LIST_CSV: &str = include_str!("../../../../data/whistle/whistle_list.csv");
pub const WORKDAYS_JSON: &str = include_str!("../../../../data/calendar/cn_workdays.json");

/// All shipped units: the divisions plus centres, departments and enterprises.
pub fn default_units() -> Result<Vec<Unit>, StoreError> {
    let mut units = divisions_to_units(DIVISIONS_JSON)?;
    let ReferenceImport::Units(more) = parse(FileKind::Units, UNITS_CSV.as_bytes(), false)? else {
        return Err(StoreError::Import(
            "units.csv did not parse as units".into(),
        ));
    };
    units.extend(more);
    Ok(units)
}

/// The imports `whistle init` applies, in dependency order.
pub fn default_imports() -> Result<Vec<ReferenceImport>, StoreError> {
    let catalogue = match parse(FileKind::Catalogue, CATALOGUE_CSV.as_bytes(), false)? {
        ReferenceImport::Catalogue { entries, .. } => ReferenceImport::Catalogue {
            entries,
            note: "shipped default (data/catalogue/catalogue.csv)".into(),
        },
        other => other,
    };
    Ok(vec![
        ReferenceImport::Units(default_units()?),
        parse(FileKind::Categories, CATEGORIES_CSV.as_bytes(), false)?,
        parse(FileKind::Duties, DUTIES_CSV.as_bytes(), false)?,
        catalogue,
        ReferenceImport::Calendar(parse_workdays_json(WORKDAYS_JSON)?),
        parse(FileKind::WhistleList, WHISTLE_LIST_CSV.as_bytes(), false)?,
    ])
}

/// Installs the shipped reference data into a store: what `whistle init` does. Idempotent: an
/// existing catalogue is not replaced by the shipped one.
pub async fn install_defaults(
    store: &dyn crate::Store,
    actor: &whistle_core::ids::Actor,
    at: whistle_core::time::Timestamp,
) -> Result<(), StoreError> {
    for item in default_imports()? {
        // The catalogue and the whistle list are the operator's once installed.
        if matches!(item, ReferenceImport::Catalogue { .. })
            && store.reference().catalogue.version > 0
        {
            continue;
        }
        if matches!(item, ReferenceImport::WhistleList(_))
            && !store.reference().whistle_list.is_empty()
        {
            continue;
        }
        store.import(item, actor, at).await?;
    }
    Ok(())
}
