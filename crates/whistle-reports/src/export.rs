//! The raw exports an independent check recomputes the figures from: the orders of a period
//! and the intake volumes. No personal data.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use whistle_core::time::{beijing_date, Timestamp};
use whistle_store::{Store, StoreError};

use crate::bulletins::{midnight, Names};
use crate::document::Lang;

/// The header of the raw order export: one row per contribution an order's history makes — each
/// dispatch round (`dispatch`), each co-handler's part owed in a round the lead replied in
/// (`part`), each return visit (`visit`) — with the order's reopen count and unreasonable ruling
/// on every row. Times are Beijing time with milliseconds (`2025-10-09T09:10:00.000+08:00`), so
/// they compare as text.
pub const ORDERS_HEADER: &str = "no,kind,round,unit,unit_group,district,category,received_day,at,period,dispatcher_unit,dispatcher,rework,contact_at,contacted_in_time,disputes,overturned_at,handle_by,replied_at,visit,contacted,resolved,satisfaction,part_at,reopen_count,unreasonable_at\n";

/// Orders read per step of the raw export.
pub const ORDERS_CHUNK: usize = 1000;

/// The orders of a period for the raw export: their ids in creation order (UUIDv7). Read these
/// [`ORDERS_CHUNK`] at a time with [`orders_rows`].
pub async fn period_orders(
    store: &dyn Store,
    period: &str,
) -> Result<Vec<whistle_core::ids::OrderId>, StoreError> {
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
    Ok(ids)
}

/// `whistle export orders --period P`: the whole history, as the evaluation counts it, of every
/// order received, dispatched, replied or return-visited in the period — each row a
/// contribution with its unit, the unit's peer group and district, its time and the period it
/// falls in under the policy — the raw rows an independent check recomputes every figure of the
/// evaluation from (see [`ORDERS_HEADER`]). No personal data (the dispatcher is a staff login).
/// Reads the period's orders only (found through indexes), a thousand at a time; rows in the
/// order the orders were created (their ids), so the API can stream them.
pub async fn orders_csv(store: &dyn Store, period: &str) -> Result<String, StoreError> {
    let ids = period_orders(store, period).await?;
    let mut out = String::from(ORDERS_HEADER);
    for chunk in ids.chunks(ORDERS_CHUNK) {
        out.push_str(&orders_rows(store, chunk).await?);
    }
    Ok(out)
}

/// A time in the export's form.
fn instant(at: Timestamp) -> String {
    whistle_core::time::beijing_local(at)
        .format("%Y-%m-%dT%H:%M:%S%.3f+08:00")
        .to_string()
}

/// The export's rows of some of a period's orders (ids from [`period_orders`]), in the ids' order.
pub async fn orders_rows(
    store: &dyn Store,
    chunk: &[whistle_core::ids::OrderId],
) -> Result<String, StoreError> {
    use whistle_core::evaluation::{CountBasis, PeerGroup};
    use whistle_core::order::{Satisfaction, VisitResult};
    let reference = store.reference();
    let policy = &reference.policy.evaluation;
    let mut orders = store.orders_by_id(chunk).await?;
    orders.sort_unstable_by_key(|o| o.id);
    let mut out = String::new();
    for order in orders {
        let record = &order.record;
        let received = beijing_date(order.received_at);
        let period = |at: Timestamp| {
            policy.period_of(match policy.count_by {
                CountBasis::ReturnVisit => beijing_date(at),
                CountBasis::Received => received,
            })
        };
        let unreasonable = order
            .unreasonable
            .as_ref()
            .map(|r| instant(r.at))
            .unwrap_or_default();
        let place = |unit: &whistle_core::ids::UnitCode| {
            let group = PeerGroup::of(unit, &reference.directory, &reference.city)
                .and_then(|g| serde_json::to_value(g).ok())
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let district = reference
                .directory
                .district_of(unit)
                .map(|d| d.code.to_string())
                .unwrap_or_default();
            (group, district)
        };
        let optional = |at: Option<Timestamp>| at.map(instant).unwrap_or_default();
        #[allow(clippy::too_many_arguments)]
        let mut row = |kind: &str,
                       round: usize,
                       unit: &whistle_core::ids::UnitCode,
                       at: Timestamp,
                       dispatch: [String; 9],
                       visit: [&str; 4],
                       part_at: String| {
            let (group, district) = place(unit);
            out.push_str(&format!(
                "{},{kind},{round},{unit},{group},{district},{},{received},{},{},{},{},{},{},{}\n",
                order.no,
                order.category,
                instant(at),
                period(at),
                dispatch.join(","),
                visit.join(","),
                part_at,
                order.reopen_count,
                unreasonable,
            ));
        };
        let blank = || std::array::from_fn::<String, 9, _>(|_| String::new());
        for (i, round) in record.rounds.iter().enumerate() {
            row(
                "dispatch",
                i,
                &round.unit,
                round.at,
                [
                    round.dispatcher.unit.to_string(),
                    round.dispatcher.user.replace(',', " "),
                    round.rework.to_string(),
                    optional(round.contact.map(|c| c.at)),
                    round
                        .contact
                        .map(|c| c.in_time.to_string())
                        .unwrap_or_default(),
                    round.disputes.to_string(),
                    optional(round.overturned_at),
                    instant(round.handle_by),
                    optional(round.replied_at),
                ],
                ["", "", "", ""],
                String::new(),
            );
            let Some(replied) = round.replied_at else {
                continue;
            };
            for unit in &round.co_handlers {
                let part = order
                    .parts
                    .iter()
                    .filter(|p| &p.unit == unit && p.at >= round.at)
                    .map(|p| p.at)
                    .min();
                let mut fields = blank();
                fields[7] = instant(round.handle_by);
                fields[8] = instant(replied);
                row(
                    "part",
                    i,
                    unit,
                    replied,
                    fields,
                    ["", "", "", ""],
                    optional(part),
                );
            }
        }
        for visit in &record.visits {
            let answers = match &visit.result {
                VisitResult::Invalid { .. } => ["invalid", "", "", ""],
                VisitResult::Valid {
                    contacted,
                    resolved,
                    satisfaction,
                } => [
                    "valid",
                    if *contacted { "true" } else { "false" },
                    if *resolved { "true" } else { "false" },
                    match satisfaction {
                        Satisfaction::Satisfied => "satisfied",
                        Satisfaction::BasicallySatisfied => "basically_satisfied",
                        Satisfaction::Dissatisfied => "dissatisfied",
                    },
                ],
            };
            row(
                "visit",
                visit.round,
                &visit.unit,
                visit.at,
                blank(),
                answers,
                String::new(),
            );
        }
    }
    Ok(out)
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
