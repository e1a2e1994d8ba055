//! The raw exports an independent check recomputes the figures from: the orders of a period
//! and the intake volumes. No personal data.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use whistle_core::time::{beijing_date, Timestamp};
use whistle_store::{Store, StoreError};

use crate::bulletins::{midnight, Names};
use crate::document::Lang;

/// The header of the raw order export.
pub const ORDERS_HEADER: &str = "no,unit,unit_group,district,category,received_day,dispatch_day,visit_day,visit,contacted,contacted_in_time,resolved,satisfaction,excluded\n";

/// Orders read per step of the raw export.
pub const ORDERS_CHUNK: usize = 1000;

/// The orders of a period for the raw export: their ids in creation order (UUIDv7), and the
/// period's days [from, before). Read these [`ORDERS_CHUNK`] at a time with [`orders_rows`].
pub async fn period_orders(
    store: &dyn Store,
    period: &str,
) -> Result<(Vec<whistle_core::ids::OrderId>, NaiveDate, NaiveDate), StoreError> {
    let reference = store.reference();
    let (from, before) = reference.policy.evaluation.period(period)?;
    let mut ids = store
        .period_order_ids(
            whistle_core::time::from_beijing(from.and_time(chrono::NaiveTime::MIN)),
            whistle_core::time::from_beijing(before.and_time(chrono::NaiveTime::MIN)),
        )
        .await?;
    ids.sort_unstable();
    ids.dedup();
    Ok((ids, from, before))
}

/// `whistle export orders --period P`: one row per order received, dispatched or return-visited
/// in the period — its lead unit and peer group, district, category, Beijing days, the visit's answers
/// and whether it was excluded — the raw rows an independent check recomputes the evaluation
/// from. No personal data. Reads the period's orders only (found through indexes), a thousand at
/// a time; rows in the order the orders were created (their ids), so the API can stream them.
pub async fn orders_csv(store: &dyn Store, period: &str) -> Result<String, StoreError> {
    let (ids, from, before) = period_orders(store, period).await?;
    let mut out = String::from(ORDERS_HEADER);
    for chunk in ids.chunks(ORDERS_CHUNK) {
        out.push_str(&orders_rows(store, chunk, from, before).await?);
    }
    Ok(out)
}

/// The export's rows of some of a period's orders (ids from [`period_orders`]), in the ids' order.
pub async fn orders_rows(
    store: &dyn Store,
    chunk: &[whistle_core::ids::OrderId],
    from: NaiveDate,
    before: NaiveDate,
) -> Result<String, StoreError> {
    use whistle_core::evaluation::PeerGroup;
    use whistle_core::order::{Satisfaction, VisitResult};
    let reference = store.reference();
    let within = |at: Option<Timestamp>| {
        at.map(beijing_date)
            .is_some_and(|day| day >= from && day < before)
    };
    let mut rows: Vec<(whistle_core::ids::OrderId, String)> = Vec::new();
    for order in store.orders_by_id(chunk).await? {
        let Some(lead) = order.lead() else {
            continue;
        };
        if ![
            Some(order.received_at),
            order.dispatched_at,
            order.visited_at,
        ]
        .into_iter()
        .any(within)
        {
            continue;
        }
        let group = PeerGroup::of(lead, &reference.directory, &reference.city)
            .and_then(|g| serde_json::to_value(g).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let district = reference
            .directory
            .district_of(lead)
            .map(|d| d.code.to_string())
            .unwrap_or_default();
        let day = |at: Option<Timestamp>| at.map(|t| beijing_date(t).to_string());
        let (visit, contacted, resolved, satisfaction) = match &order.visit {
            None => ("", "", "", ""),
            Some(VisitResult::Invalid { .. }) => ("invalid", "", "", ""),
            Some(VisitResult::Valid {
                contacted,
                resolved,
                satisfaction,
            }) => (
                "valid",
                if *contacted { "true" } else { "false" },
                if *resolved { "true" } else { "false" },
                match satisfaction {
                    Satisfaction::Satisfied => "satisfied",
                    Satisfaction::BasicallySatisfied => "basically_satisfied",
                    Satisfaction::Dissatisfied => "dissatisfied",
                },
            ),
        };
        rows.push((
            order.id,
            format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                order.no,
                lead,
                group,
                district,
                order.category,
                beijing_date(order.received_at),
                day(order.dispatched_at).unwrap_or_default(),
                day(order.visited_at).unwrap_or_default(),
                visit,
                contacted,
                order
                    .contacted_in_time
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                resolved,
                satisfaction,
                order.unreasonable.is_some()
            ),
        ));
    }
    rows.sort_unstable_by_key(|row| row.0);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// The raw intake rows of the days [first, before): one row per order with its Beijing day,
/// type, channel, urgency, category, territory, district and street (no personal data, no
/// address) — what an independent check (DuckDB) recomputes the bulletin's volumes from.
pub async fn intake_csv(
    store: &dyn Store,
    first: NaiveDate,
    before: NaiveDate,
) -> Result<String, StoreError> {
    let reference = store.reference();
    let names = Names {
        reference: &reference,
        lang: Lang::Zh,
    };
    let keys = store.order_keys(midnight(first), midnight(before)).await?;
    let mut out = String::from(
        "no,day,received_at_ms,request_type,channel,urgency,category,territory,district,street\n",
    );
    let mut districts: BTreeMap<String, String> = BTreeMap::new();
    for key in &keys {
        let district = districts
            .entry(key.territory.clone())
            .or_insert_with(|| names.district(&key.territory))
            .clone();
        let street = if names.is_street(&key.territory) {
            key.territory.as_str()
        } else {
            ""
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            key.no,
            beijing_date(key.received_at),
            key.received_at.timestamp_millis(),
            key.request_type,
            key.channel,
            key.urgency,
            key.category,
            key.territory,
            district,
            street
        ));
    }
    Ok(out)
}
