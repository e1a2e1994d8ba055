//! SQL shared by both backends, written with `$n` placeholders (SQLite gets `?n`).

use whistle_core::time::to_millis;

use crate::types::{AssignedTo, Awaiting, OrderFilter, Owed, PageRequest, Scope, StoreError};

pub(crate) const SUMMARY_COLUMNS: &str = "o.id, o.no, o.version, o.stage, o.request_type, o.category, o.urgency, \
    o.district, o.street, o.lead_unit, o.received_at, o.respond_by, o.handle_by, o.next_due_at, o.closed_at, o.excluded";

pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO events (order_id, seq, at, actor_user, actor_unit, kind, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const INSERT_ORDER: &str = "INSERT INTO orders (id, no, version, stage, request_type, channel, category, \
    urgency, district, street, community, lead_unit, received_at, respond_by, handle_by, next_due_at, closed_at, \
    excluded, state, notice_at, place, awaiting, owed, assignee) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)";

/// Only the columns a command can change, so indexes on the others are not touched.
pub(crate) const UPDATE_ORDER: &str =
    "UPDATE orders SET version = $2, stage = $3, lead_unit = $4, respond_by = $5, \
    handle_by = $6, next_due_at = $7, closed_at = $8, excluded = $9, state = $10, notice_at = $11, awaiting = $12, owed = $13, assignee = $14 WHERE id = $1";

pub(crate) use crate::db::Param;

pub(crate) struct Query {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Query {
    fn push(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    pub fn for_sqlite(&self) -> String {
        self.sql.replace('$', "?")
    }
}

/// The list query: newest first, keyset on (received_at, id). A unit filter goes through the
/// `order_units` index.
pub(crate) fn list_orders(
    scope: &Scope,
    filter: &OrderFilter,
    page: &PageRequest,
    sqlite: bool,
) -> Result<Query, StoreError> {
    let mut query = Query {
        sql: String::new(),
        params: Vec::new(),
    };
    let mut conditions = Vec::new();
    // A single unit (a filter, or a handler's scope) reads the order_units index directly.
    let single_unit = match (&filter.unit, scope) {
        (Some(unit), _) => Some(unit.clone()),
        (None, Scope::Units(units)) if units.len() == 1 => Some(units[0].clone()),
        _ => None,
    };
    let (time, id) = if let Some(unit) = &single_unit {
        let p = query.push(Param::Text(unit.to_string()));
        conditions.push(format!("u.unit = {p}"));
        ("u.received_at", "u.order_id")
    } else {
        ("o.received_at", "o.id")
    };
    match scope {
        Scope::All => {}
        Scope::District(district) => {
            let p = query.push(Param::Text(district.to_string()));
            conditions.push(format!("o.district = {p}"));
        }
        Scope::Street(street) => {
            let p = query.push(Param::Text(street.to_string()));
            conditions.push(format!("o.street = {p}"));
        }
        Scope::Units(units) if units.is_empty() => conditions.push("1 = 0".into()),
        Scope::Units(units) if single_unit.as_ref() == units.first() && units.len() == 1 => {}
        Scope::Units(units) => {
            let list: Vec<String> = units
                .iter()
                .map(|u| query.push(Param::Text(u.to_string())))
                .collect();
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM order_units s WHERE s.order_id = o.id AND s.unit IN ({}))",
                list.join(", ")
            ));
        }
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        // The text is bound, never spliced. LIKE wildcards in it are escaped; only then is an
        // ESCAPE clause added, since SQLite's trigram index serves plain LIKE patterns.
        let wild = text.contains(['%', '_', '\\']);
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = query.push(Param::Text(format!("%{escaped}%")));
        let like = if wild {
            format!("LIKE {p} ESCAPE '\\'")
        } else {
            format!("LIKE {p}")
        };
        conditions.push(if sqlite {
            format!("o.id IN (SELECT t.order_id FROM order_texts_fts f JOIN order_texts t ON t.rowid = f.rowid WHERE f.text {like})")
        } else {
            format!("o.id IN (SELECT t.order_id FROM order_texts t WHERE t.text {like})")
        });
    }
    if let Some(stage) = &filter.stage {
        if !whistle_core::order::Stage::NAMES.contains(&stage.as_str()) {
            return Err(StoreError::Domain(
                whistle_core::error::DomainError::InvalidValue {
                    field: "stage".into(),
                    value: stage.chars().take(30).collect(),
                },
            ));
        }
        let p = query.push(Param::Text(stage.clone()));
        conditions.push(format!("o.stage = {p}"));
    }
    if let Some(channel) = &filter.channel {
        let p = query.push(Param::Text(channel.clone()));
        conditions.push(format!("o.channel = {p}"));
    }
    if let Some(urgency) = &filter.urgency {
        let p = query.push(Param::Text(urgency.as_str().to_string()));
        conditions.push(format!("o.urgency = {p}"));
    }
    if let Some(awaiting) = filter.awaiting {
        conditions.push(awaiting_condition(awaiting).to_string());
    }
    match filter.owed {
        None => {}
        Some(Owed::Rework) => conditions.push("o.owed IS NOT NULL AND (o.owed & 1) = 1".into()),
        Some(Owed::Part) => {
            conditions.push("o.owed IS NOT NULL AND (o.owed & 2) = 2".into());
            // The bit says some co-handler owes its part; for one unit, the stored state says
            // whether it is this one (only the few orders with the bit set are read).
            if single_unit.is_some() {
                conditions.push(if sqlite {
                    // `->` paths, not `$.…`: the statement's `$n` become `?n` for SQLite.
                    "EXISTS (SELECT 1 FROM json_each(o.state -> 'stage' -> 'co_handlers') c WHERE c.value = u.unit \
                     AND NOT EXISTS (SELECT 1 FROM json_each(o.state -> 'parts') p \
                     WHERE (p.value ->> 'unit') = u.unit \
                     AND julianday(p.value ->> 'at') >= julianday(o.state -> 'stage' ->> 'dispatched_at')))"
                        .into()
                } else {
                    "EXISTS (SELECT 1 FROM jsonb_array_elements_text(o.state::jsonb -> 'stage' -> 'co_handlers') c(unit) \
                     WHERE c.unit = u.unit AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(o.state::jsonb -> 'parts') p(part) \
                     WHERE p.part ->> 'unit' = u.unit \
                     AND (p.part ->> 'at')::timestamptz >= (o.state::jsonb -> 'stage' ->> 'dispatched_at')::timestamptz))"
                        .into()
                });
            }
        }
    }
    if let Some(due) = filter.due_before {
        let p = query.push(Param::Int(to_millis(due)));
        conditions.push(format!(
            "o.next_due_at IS NOT NULL AND o.next_due_at <= {p}"
        ));
    }
    if let Some(units) = &filter.lead_units {
        if units.is_empty() {
            conditions.push("1 = 0".into());
        } else {
            let list: Vec<String> = units
                .iter()
                .map(|u| query.push(Param::Text(u.to_string())))
                .collect();
            conditions.push(format!("o.lead_unit IN ({})", list.join(", ")));
        }
    }
    match &filter.assignee {
        None => {}
        Some(AssignedTo::Person(login)) => {
            let p = query.push(Param::Text(login.clone()));
            conditions.push(format!("o.assignee = {p}"));
        }
        Some(AssignedTo::Nobody) => conditions.push("o.assignee IS NULL".into()),
    }
    if let Some(now) = filter.thrice_late_at {
        // now − received ≥ 3 × (due − received), i.e. 3·due − 2·received ≤ now; only a positive
        // allowance counts (as on the supervisor's board).
        let p = query.push(Param::Int(to_millis(now)));
        conditions.push(format!(
            "o.next_due_at IS NOT NULL AND o.next_due_at > o.received_at \
             AND 3 * o.next_due_at - 2 * o.received_at <= {p}"
        ));
    }
    if let Some(due) = filter.due_after {
        let p = query.push(Param::Int(to_millis(due)));
        conditions.push(format!("o.next_due_at > {p}"));
    }
    if let Some(district) = &filter.district {
        let p = query.push(Param::Text(district.to_string()));
        conditions.push(format!("o.district = {p}"));
    }
    if let Some(street) = &filter.street {
        let p = query.push(Param::Text(street.to_string()));
        conditions.push(format!("o.street = {p}"));
    }
    if let Some(category) = &filter.category {
        let low = query.push(Param::Text(category.to_string()));
        let high = query.push(Param::Text(format!("{category}/")));
        conditions.push(format!("o.category >= {low} AND o.category < {high}"));
    }
    if let Some(from) = filter.received_from {
        let p = query.push(Param::Int(to_millis(from)));
        conditions.push(format!("{time} >= {p}"));
    }
    if let Some(before) = filter.received_before {
        let p = query.push(Param::Int(to_millis(before)));
        conditions.push(format!("{time} < {p}"));
    }
    let (after, direction) = if filter.oldest_first || filter.by_deadline {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    // By deadline: the keyset is (next_due_at, id), read from the due index.
    let (time, id) = if filter.by_deadline {
        conditions.push("o.next_due_at IS NOT NULL".to_string());
        ("o.next_due_at", "o.id")
    } else {
        (time, id)
    };
    if let Some((millis, order)) = page.cursor()? {
        let a = query.push(Param::Int(millis));
        let b = query.push(Param::Id(order.0));
        conditions.push(format!("({time}, {id}) {after} ({a}, {b})"));
    }
    let limit = query.push(Param::Int(page.limit() + 1));
    let join = if single_unit.is_some() {
        " JOIN order_units u ON u.order_id = o.id"
    } else {
        ""
    };
    let conditions = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    query.sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM orders o{join}{conditions} ORDER BY {time} {direction}, {id} {direction} LIMIT {limit}"
    );
    Ok(query)
}

/// The condition of an [`Awaiting`] queue: a bit of the `awaiting` column (migration 0011),
/// whose partial index holds only the orders waiting for a decision.
fn awaiting_condition(awaiting: Awaiting) -> &'static str {
    match awaiting {
        Awaiting::Dispute => "o.awaiting IS NOT NULL AND (o.awaiting & 1) = 1",
        Awaiting::Extension => "o.awaiting IS NOT NULL AND (o.awaiting & 2) = 2",
    }
}

/// The due query: earliest running deadline at or before `at`, from the partial due index.
pub(crate) fn due(at: i64, page: &PageRequest) -> Result<Query, StoreError> {
    let mut query = Query {
        sql: String::new(),
        params: Vec::new(),
    };
    let p = query.push(Param::Int(at));
    let mut sql = format!("SELECT {SUMMARY_COLUMNS} FROM orders o WHERE o.next_due_at IS NOT NULL AND o.next_due_at <= {p}");
    if let Some((millis, order)) = page.cursor()? {
        let a = query.push(Param::Int(millis));
        let b = query.push(Param::Id(order.0));
        sql.push_str(&format!(" AND (o.next_due_at, o.id) > ({a}, {b})"));
    }
    let limit = query.push(Param::Int(page.limit() + 1));
    sql.push_str(&format!(" ORDER BY o.next_due_at, o.id LIMIT {limit}"));
    query.sql = sql;
    Ok(query)
}

/// The two tables of evaluation counters: per Beijing day (`eval_counters`) and per evaluation
/// period under the policy's start day (`eval_period_counters`). Both change in the transaction
/// that appends the events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CounterTable {
    Day,
    Period,
    /// Intake volumes (one count, in the first of the places).
    IntakeDay,
    IntakeMonth,
}

impl CounterTable {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            CounterTable::Day => ("eval_counters", "day"),
            CounterTable::Period => ("eval_period_counters", "period"),
            CounterTable::IntakeDay => ("intake_days", "day"),
            CounterTable::IntakeMonth => ("intake_months", "month"),
        }
    }

    /// Adds intake deltas: `$1` key, `$2` territory, `$3` category, `$4` count (arrays with
    /// `unnest`).
    pub(crate) fn intake_upsert(self, unnest: bool) -> String {
        let (table, key) = self.names();
        let source = if unnest {
            "SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])"
        } else {
            "VALUES ($1, $2, $3, $4)"
        };
        format!(
            "INSERT INTO {table} ({key}, territory, category, count) {source} ON CONFLICT ({key}, territory, category) DO UPDATE SET count = {table}.count + excluded.count"
        )
    }

    /// Adds deltas to counter cells (`$n` placeholders; SQLite swaps them for `?n`): one row of
    /// the key, unit, category and counts, or on PostgreSQL (`unnest`) one array of each whose
    /// cells are unique.
    pub(crate) fn upsert(self, unnest: bool) -> String {
        let (table, key) = self.names();
        let counts = 4..4 + COUNT_COLUMNS.len();
        let source = if unnest {
            let arrays: Vec<String> = counts.map(|i| format!("${i}::bigint[]")).collect();
            format!(
                "SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], {})",
                arrays.join(", ")
            )
        } else {
            let values: Vec<String> = counts.map(|i| format!("${i}")).collect();
            format!("VALUES ($1, $2, $3, {})", values.join(", "))
        };
        let sets: Vec<String> = COUNT_COLUMNS
            .iter()
            .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO {table} ({key}, unit, category, {}) {source} ON CONFLICT ({key}, unit, category) DO UPDATE SET {}",
            COUNT_COLUMNS.join(", "),
            sets.join(", ")
        )
    }

    /// Every non-zero cell, in key order (to compare before and after a recount).
    pub(crate) fn all(self) -> String {
        let (table, key) = self.names();
        if matches!(self, CounterTable::IntakeDay | CounterTable::IntakeMonth) {
            let zeros = vec!["CAST(0 AS BIGINT)"; COUNT_COLUMNS.len() - 1].join(", ");
            return format!(
                "SELECT {key}, territory, category, count, {zeros} FROM {table} WHERE count <> 0 ORDER BY {key}, territory, category",
            );
        }
        let nonzero: Vec<String> = COUNT_COLUMNS.iter().map(|c| format!("{c} <> 0")).collect();
        format!(
            "SELECT {key}, unit, category, {} FROM {table} WHERE {} ORDER BY {key}, unit, category",
            COUNT_COLUMNS.join(", "),
            nonzero.join(" OR ")
        )
    }
}

/// The counts of a cell, in [`whistle_core::evaluation::Counts::values`] order.
pub(crate) const COUNT_COLUMNS: [&str; whistle_core::evaluation::COUNTS] =
    whistle_core::evaluation::Counts::FIELDS;

/// The cells of one evaluation period from the period table: O(units × categories).
pub(crate) static ONE_PERIOD_EVAL_COUNTERS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| {
        format!(
            "SELECT unit, category, {} FROM eval_period_counters WHERE period = $1",
            COUNT_COLUMNS.join(", ")
        )
    });

/// The start day the period table is kept under.
pub(crate) const PERIOD_START_DAY: &str =
    "SELECT value FROM settings WHERE key = 'eval_period_start_day'";

/// The basis the evaluation counters are kept under (absent: by return visit).
pub(crate) const COUNT_BY: &str = "SELECT value FROM settings WHERE key = 'eval_count_by'";
pub(crate) const PUT_COUNT_BY: &str =
    "INSERT INTO settings (key, value) VALUES ('eval_count_by', $1) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value";

pub(crate) fn count_basis(
    value: Option<String>,
) -> Result<whistle_core::evaluation::CountBasis, crate::StoreError> {
    match value {
        None => Ok(Default::default()),
        Some(v) => whistle_core::evaluation::CountBasis::parse(&v)
            .ok_or_else(|| anyhow::anyhow!("unknown eval_count_by setting {v:?}").into()),
    }
}

/// Adds an order's contributions under a basis to day cells being recounted.
pub(crate) fn recount_add(
    cells: &mut std::collections::BTreeMap<
        whistle_core::evaluation::CellKey,
        whistle_core::evaluation::Counts,
    >,
    order: &whistle_core::order::Order,
    basis: whistle_core::evaluation::CountBasis,
) {
    for (key, counts) in whistle_core::evaluation::contributions(order, basis) {
        cells.entry(key).or_default().add(&counts);
    }
}

/// A counter cell: (day or period, unit, category, the nine counts).
pub(crate) type PeriodCell = (
    String,
    String,
    String,
    [i64; whistle_core::evaluation::COUNTS],
);

/// A day counter cell in its stored form.
pub(crate) fn day_cell(
    key: &whistle_core::evaluation::CellKey,
    counts: &whistle_core::evaluation::Counts,
) -> PeriodCell {
    (
        key.day.to_string(),
        key.unit.as_str().to_string(),
        key.category.as_str().to_string(),
        counts.values(),
    )
}

/// Sums day-cell deltas into period cells under a start day, in key order.
pub(crate) fn period_deltas(
    deltas: &[(
        whistle_core::evaluation::CellKey,
        whistle_core::evaluation::Counts,
    )],
    start_day: u32,
) -> Vec<PeriodCell> {
    let policy = whistle_core::evaluation::EvaluationPolicy {
        period_start_day: start_day,
        ..Default::default()
    };
    let mut sums: std::collections::BTreeMap<
        (String, String, String),
        whistle_core::evaluation::Counts,
    > = std::collections::BTreeMap::new();
    for (key, counts) in deltas {
        sums.entry((
            policy.period_of(key.day),
            key.unit.as_str().to_string(),
            key.category.as_str().to_string(),
        ))
        .or_default()
        .add(counts);
    }
    sums.into_iter()
        .filter(|(_, c)| !c.is_zero())
        .map(|((p, u, c), counts)| (p, u, c, counts.values()))
        .collect()
}

/// Intake deltas per day and per calendar month: ([(key, territory, category)], counts) for
/// `intake_days` and `intake_months`, each in key order.
#[allow(clippy::type_complexity)]
pub(crate) fn intake_deltas(
    deltas: &[(crate::plan::IntakeKey, i64)],
) -> [(Vec<(String, String, String)>, Vec<i64>); 2] {
    let mut days = std::collections::BTreeMap::new();
    let mut months = std::collections::BTreeMap::new();
    for ((day, territory, category), n) in deltas {
        let day = day.to_string();
        *months
            .entry((day[..7].to_string(), territory.clone(), category.clone()))
            .or_insert(0i64) += n;
        *days
            .entry((day, territory.clone(), category.clone()))
            .or_insert(0i64) += n;
    }
    [days, months].map(|cells| cells.into_iter().filter(|(_, n)| *n != 0).unzip())
}

/// The period cells recounted from every day cell (`CounterTable::Day.all()` rows).
pub(crate) fn recount_periods(
    day_cells: &[(String, [i64; whistle_core::evaluation::COUNTS])],
    start_day: u32,
) -> Result<Vec<PeriodCell>, crate::StoreError> {
    let mut deltas = Vec::with_capacity(day_cells.len());
    for (key, values) in day_cells {
        let mut parts = key.splitn(3, '|');
        let (day, unit, category) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|e| anyhow::anyhow!("counter day {day:?}: {e}"))?;
        let (unit, category, counts) = evaluation_cell(unit, category, *values)?;
        deltas.push((
            whistle_core::evaluation::CellKey {
                day,
                unit,
                category,
            },
            counts,
        ));
    }
    Ok(period_deltas(&deltas, start_day))
}

/// The counters of a period summed per (unit, category): O(cells of the period), never orders.
/// The casts keep PostgreSQL's sums `BIGINT` (not `NUMERIC`); SQLite takes them as they are.
pub(crate) static PERIOD_EVAL_COUNTERS: std::sync::LazyLock<String> = std::sync::LazyLock::new(
    || {
        let sums: Vec<String> = COUNT_COLUMNS
            .iter()
            .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
            .collect();
        format!(
            "SELECT unit, category, {} FROM eval_counters WHERE day >= $1 AND day < $2 GROUP BY unit, category",
            sums.join(", ")
        )
    },
);

/// Evaluation cells in (unit, category) order. The queries leave the order to this: on
/// PostgreSQL sorting a period's ~6,000 cells under the database collation took longer than
/// reading them (measured on the simulated year; BENCHMARKS).
pub(crate) fn in_key_order(mut cells: Vec<crate::EvaluationCell>) -> Vec<crate::EvaluationCell> {
    cells.sort_unstable_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    cells
}

pub(crate) fn evaluation_cell(
    unit: &str,
    category: &str,
    values: [i64; whistle_core::evaluation::COUNTS],
) -> Result<crate::EvaluationCell, crate::StoreError> {
    Ok((
        whistle_core::ids::UnitCode::parse(unit)?,
        whistle_core::ids::CategoryCode::parse(category)?,
        whistle_core::evaluation::Counts::from_values(values),
    ))
}

/// How many cells differ between two key-ordered counter snapshots.
pub(crate) fn cells_differing(
    before: &[(String, [i64; whistle_core::evaluation::COUNTS])],
    after: &[(String, [i64; whistle_core::evaluation::COUNTS])],
) -> u64 {
    let before: std::collections::BTreeMap<&String, &[i64; whistle_core::evaluation::COUNTS]> =
        before.iter().map(|(k, v)| (k, v)).collect();
    let after: std::collections::BTreeMap<&String, &[i64; whistle_core::evaluation::COUNTS]> =
        after.iter().map(|(k, v)| (k, v)).collect();
    let keys: std::collections::BTreeSet<&&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .count() as u64
}

/// Intake volume rows of a key range (`{table}` and `{key}` filled by the caller).
pub(crate) fn intake_range(days: bool) -> String {
    let (table, key) = if days {
        CounterTable::IntakeDay.names()
    } else {
        CounterTable::IntakeMonth.names()
    };
    format!(
        "SELECT {key}, territory, category, count FROM {table} WHERE {key} >= $1 AND {key} < $2 AND count <> 0 ORDER BY {key}, territory, category"
    )
}

pub(crate) const INTAKE_MIX: &str = "SELECT request_type, channel, urgency, COUNT(*) FROM orders \
    WHERE received_at >= $1 AND received_at < $2 GROUP BY request_type, channel, urgency \
    ORDER BY request_type, channel, urgency";

pub(crate) const EMERGENCIES: &str =
    "SELECT no, category, district, street, lead_unit, stage, received_at \
    FROM orders WHERE received_at >= $1 AND received_at < $2 AND urgency = 'emergency' \
    ORDER BY received_at, no LIMIT $3";

pub(crate) const OVERDUE_NOTICES: &str = "SELECT o.lead_unit, COUNT(DISTINCT e.order_id), \
    SUM(CASE WHEN e.payload LIKE '%\"deadline\":\"respond\"%' THEN 1 ELSE 0 END), \
    SUM(CASE WHEN e.payload LIKE '%\"deadline\":\"handle\"%' THEN 1 ELSE 0 END) FROM events e \
    JOIN orders o ON o.id = e.order_id \
    WHERE e.kind = 'supervised' AND e.at >= $1 AND e.at < $2 \
    AND e.payload LIKE '%\"action\":\"overdue\"%' \
    GROUP BY o.lead_unit ORDER BY o.lead_unit";

/// The orders a period touches (see `Store::period_order_ids`); the `kind IN` term is the
/// `events_evaluated` partial index's, word for word, so both databases use it.
pub(crate) const PERIOD_ORDER_IDS: &str = "SELECT id FROM orders WHERE received_at >= $1 AND received_at < $2 \
    UNION SELECT order_id FROM events WHERE kind IN ('dispatched', 'replied', 'visited') AND at >= $1 AND at < $2 \
    ORDER BY 1";

/// Orders of a range for repeat detection; `{address}` is the dialect's JSON path expression.
pub(crate) fn order_keys() -> String {
    let address = "o.place";
    format!(
        "SELECT o.no, o.received_at, o.category, COALESCE(o.street, o.district, '11'), {address}, r.phone, o.request_type, o.channel, o.urgency \
         FROM orders o LEFT JOIN requesters r ON r.order_id = o.id \
         WHERE o.received_at >= $1 AND o.received_at < $2 ORDER BY o.received_at, o.no"
    )
}
