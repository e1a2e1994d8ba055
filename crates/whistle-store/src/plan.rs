//! Planning a group commit, without IO: given the orders a batch touches (loaded by the
//! backend inside its transaction), decide every command in order against the in-memory state
//! and collect what to write. Both backends share this, so they cannot disagree on semantics.

use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use whistle_core::evaluation::{contributions, CellKey, CountBasis, Counts};
use whistle_core::ids::{Actor, OrderId, OrderNo, UnitCode};
use whistle_core::order::{self, Context, Event, EventPayload, Order};
use whistle_core::reference::Reference;
use whistle_core::time::{beijing_date, to_millis, Timestamp};

use crate::types::{
    CommandError, Envelope, Idempotency, OrderRef, Outcome, Request, Requester, StoreFailure,
};

/// A command with its optional idempotency key.
pub(crate) type Item = (Envelope, Option<Idempotency>);

/// A stored idempotency record: request hash, order, number and the version it produced.
pub(crate) type IdempotencyRecord = (String, OrderId, OrderNo, u64);

/// What the backend loaded for a batch.
#[derive(Default)]
pub(crate) struct Loaded {
    pub orders: HashMap<OrderId, Order>,
    pub by_no: HashMap<OrderNo, OrderId>,
    /// The last order number issued per Beijing day.
    pub counters: HashMap<NaiveDate, u64>,
    /// Idempotency records already stored for the batch's keys, by (principal, key).
    pub idempotency: HashMap<(String, String), IdempotencyRecord>,
}

impl Loaded {
    pub fn insert(&mut self, order: Order) {
        self.by_no.insert(order.no.clone(), order.id);
        self.orders.insert(order.id, order);
    }
}

/// A unit's link to an order, for the "orders of my unit" index.
pub(crate) struct UnitLink {
    pub unit: UnitCode,
    pub received_at: i64,
    pub order_id: OrderId,
    pub role: &'static str,
}

pub(crate) struct Plan {
    /// The policy's due-soon window, for each projection's `notice_at`.
    pub due_soon_minutes: i64,
    pub results: Vec<Result<Outcome, CommandError>>,
    pub events: Vec<Event>,
    /// Final states of the orders the batch changed, with whether each is new.
    pub orders: Vec<(Order, bool)>,
    pub requesters: Vec<(OrderId, Requester)>,
    pub unit_links: Vec<UnitLink>,
    pub counters: Vec<(NaiveDate, u64)>,
    /// New idempotency records: (principal, key) and what they answer.
    pub idempotency: Vec<((String, String), IdempotencyRecord)>,
    /// Request texts of new orders, for the search index.
    pub texts: Vec<(OrderId, String)>,
    /// Changes to the evaluation counters (一张卷子), summed per cell, under each counting basis
    /// (indexed by [`CountBasis::index`]): the backend writes those of the basis its counters are
    /// kept under, read in its write transaction.
    pub counter_deltas: [Vec<(CellKey, Counts)>; 2],
    /// Changes to the intake volumes (受理量) per (day, territory, category).
    pub intake_deltas: Vec<(IntakeKey, i64)>,
    /// What the plan was decided on, for a backend that plans outside its write transaction
    /// and must check, inside it, that nothing changed in between.
    pub expected: Expected,
}

/// The state a plan was decided on: the version of every order it loaded, the last order
/// number of every day it numbered, and the idempotency keys it found stored.
#[derive(Default)]
pub(crate) struct Expected {
    pub versions: HashMap<OrderId, u64>,
    pub counters: HashMap<NaiveDate, u64>,
    /// Each stored key the plan replayed, with the record it replayed: the stored record must
    /// still be that one (a key another process stored meanwhile points elsewhere).
    pub keys: Vec<((String, String), IdempotencyRecord)>,
}

/// An order's intake cell: its Beijing day of receipt, its territory (street, else district,
/// else the city) and its category, as it stands.
pub type IntakeKey = (NaiveDate, String, String);

pub fn intake_key(order: &Order) -> IntakeKey {
    let territory = &order.location.territory;
    (
        whistle_core::time::beijing_date(order.received_at),
        territory
            .street
            .as_ref()
            .or(territory.district.as_ref())
            .map(|u| u.as_str().to_string())
            .unwrap_or_else(|| crate::reference::CITY.to_string()),
        order.category.as_str().to_string(),
    )
}

impl Plan {
    /// A plan that only rewrites one order's projection (used by `rebuild_projections`).
    pub fn rewrite(order: Order, due_soon_minutes: i64) -> Plan {
        Plan {
            due_soon_minutes,
            results: Vec::new(),
            events: Vec::new(),
            orders: vec![(order, false)],
            requesters: Vec::new(),
            unit_links: Vec::new(),
            counters: Vec::new(),
            idempotency: Vec::new(),
            texts: Vec::new(),
            counter_deltas: [Vec::new(), Vec::new()],
            intake_deltas: Vec::new(),
            expected: Expected::default(),
        }
    }

    /// A rewrite that also adds the order's whole contribution to the counters (for a rebuild
    /// that has emptied them).
    pub fn recount(order: Order, due_soon_minutes: i64) -> Plan {
        let counter_deltas =
            CountBasis::ALL.map(|basis| whistle_core::evaluation::delta(None, &order, basis));
        Plan {
            counter_deltas,
            intake_deltas: vec![(intake_key(&order), 1)],
            ..Plan::rewrite(order, due_soon_minutes)
        }
    }
}

/// What a batch needs loaded: order ids, order numbers (targets and references), intake days
/// and idempotency keys.
pub(crate) struct Wanted {
    pub ids: Vec<OrderId>,
    pub nos: Vec<OrderNo>,
    pub days: Vec<NaiveDate>,
    pub keys: Vec<(String, String)>,
}

pub(crate) fn wanted(batch: &[Item]) -> Wanted {
    let mut ids = BTreeSet::new();
    let mut nos = BTreeSet::new();
    let mut days = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for (envelope, idempotency) in batch {
        if let Some(idempotency) = idempotency {
            keys.insert((idempotency.principal.clone(), idempotency.key.clone()));
        }
        match &envelope.request {
            Request::Intake { intake, .. } | Request::IntakeAndDispatch { intake, .. } => {
                days.insert(beijing_date(envelope.at));
                if let order::Triage::RepeatNoNew { earlier } = &intake.triage {
                    nos.insert(earlier.clone());
                }
            }
            Request::Command { order, command, .. } => {
                match order {
                    OrderRef::Id(id) => ids.insert(*id),
                    OrderRef::No(no) => nos.insert(no.clone()),
                };
                if let Some(no) = command.referenced_order() {
                    nos.insert(no.clone());
                }
            }
        }
    }
    Wanted {
        ids: ids.into_iter().collect(),
        nos: nos.into_iter().collect(),
        days: days.into_iter().collect(),
        keys: keys.into_iter().collect(),
    }
}

pub(crate) fn plan(
    reference: &Reference,
    batch: Vec<Item>,
    mut loaded: Loaded,
    new_id: impl FnMut() -> OrderId,
) -> Plan {
    plan_in(reference, batch, &mut loaded, new_id)
}

/// [`plan`], leaving the orders' final states in `loaded` (for a backend that keeps them).
pub(crate) fn plan_in(
    reference: &Reference,
    batch: Vec<Item>,
    loaded: &mut Loaded,
    new_id: impl FnMut() -> OrderId,
) -> Plan {
    let mut planning = Planning::new(reference, loaded, new_id, batch.len());
    for (envelope, idempotency) in batch {
        planning.item(envelope, idempotency);
    }
    planning.finish()
}

/// A batch being planned: the state it was loaded on, and what its commands have collected so
/// far for the write.
struct Planning<'a, F> {
    reference: &'a Reference,
    loaded: &'a mut Loaded,
    new_id: F,
    expected: Expected,
    /// What each loaded order contributed to the counters before the batch.
    before: HashMap<OrderId, [Vec<(CellKey, Counts)>; 2]>,
    intake_before: HashMap<OrderId, IntakeKey>,
    /// The last order number of each day numbered, as loaded.
    before_counters: HashMap<NaiveDate, u64>,
    results: Vec<Result<Outcome, CommandError>>,
    events: Vec<Event>,
    touched: Vec<OrderId>,
    new_orders: BTreeSet<OrderId>,
    requesters: Vec<(OrderId, Requester)>,
    unit_links: Vec<UnitLink>,
    counters_touched: BTreeSet<NaiveDate>,
    new_keys: Vec<((String, String), IdempotencyRecord)>,
    texts: Vec<(OrderId, String)>,
}

impl<'a, F: FnMut() -> OrderId> Planning<'a, F> {
    fn new(reference: &'a Reference, loaded: &'a mut Loaded, new_id: F, size: usize) -> Self {
        let mut expected = Expected {
            versions: loaded
                .orders
                .iter()
                .map(|(id, order)| (*id, order.version))
                .collect(),
            counters: HashMap::new(),
            keys: loaded
                .idempotency
                .iter()
                .map(|(slot, record)| (slot.clone(), record.clone()))
                .collect(),
        };
        expected.keys.sort();
        let before = loaded
            .orders
            .iter()
            .map(|(id, order)| {
                (
                    *id,
                    CountBasis::ALL.map(|basis| contributions(order, basis)),
                )
            })
            .collect();
        let intake_before = loaded
            .orders
            .iter()
            .map(|(id, order)| (*id, intake_key(order)))
            .collect();
        Planning {
            reference,
            loaded,
            new_id,
            expected,
            before,
            intake_before,
            before_counters: HashMap::new(),
            results: Vec::with_capacity(size),
            events: Vec::new(),
            touched: Vec::new(),
            new_orders: BTreeSet::new(),
            requesters: Vec::new(),
            unit_links: Vec::new(),
            counters_touched: BTreeSet::new(),
            new_keys: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// Plans one command: a replay of a stored idempotency key, an intake or a command on an
    /// order. A refused command leaves nothing behind.
    fn item(&mut self, envelope: Envelope, idempotency: Option<Idempotency>) {
        if let Some(idempotency) = &idempotency {
            let slot = (idempotency.principal.clone(), idempotency.key.clone());
            if let Some((hash, order_id, order_no, version)) = self.loaded.idempotency.get(&slot) {
                self.results.push(if hash == &idempotency.request_hash {
                    Ok(Outcome {
                        order_id: *order_id,
                        order_no: order_no.clone(),
                        version: *version,
                        events: Vec::new(),
                        replayed: true,
                        order: None,
                        dispatch_error: None,
                    })
                } else {
                    Err(CommandError::IdempotencyMismatch)
                });
                return;
            }
        }
        let Envelope { actor, at, request } = envelope;
        // Events keep milliseconds: the projection must be built from exactly what replays.
        let at = whistle_core::time::from_millis(whistle_core::time::to_millis(at));
        let result = match request {
            Request::IntakeAndDispatch { intake, requester } => {
                guarded(|| self.intake(intake, requester, true, &actor, at))
            }
            Request::Intake { intake, requester } => {
                guarded(|| self.intake(intake, requester, false, &actor, at))
            }
            Request::Command {
                order: target,
                expected_version,
                command,
            } => guarded(|| self.command(target, expected_version, command, &actor, at)),
        };
        if let Ok(outcome) = &result {
            self.record(outcome, idempotency);
        }
        self.results.push(result);
    }

    /// A new order, numbered in its Beijing day; dispatched by the catalogue at once when
    /// `dispatch_after` (a refused dispatch leaves it pending, with the reason in the outcome).
    fn intake(
        &mut self,
        intake: Box<order::Intake>,
        requester: Option<Requester>,
        dispatch_after: bool,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Outcome, CommandError> {
        let loaded = &mut *self.loaded;
        crate::faults::panic_if_marked("decide", &intake.text);
        if let Some(requester) = &requester {
            requester.validate()?;
        }
        if let order::Triage::RepeatNoNew { earlier } = &intake.triage {
            if !loaded.by_no.contains_key(earlier) {
                return Err(CommandError::NotFound(earlier.to_string()));
            }
        }
        let context = Context {
            now: at,
            actor,
            reference: self.reference,
        };
        let day = beijing_date(at);
        let last = loaded.counters.get(&day).copied().unwrap_or(0);
        self.before_counters.entry(day).or_insert(last);
        let sequence = last + 1;
        let no = OrderNo::new(day, sequence);
        let payloads = order::intake(&intake, no.clone(), &context)?;
        let id = (self.new_id)();
        let mut new_events = to_events(id, 0, actor, at, payloads);
        let mut order = Order::from_events(&new_events).map_err(invariant)?;
        let mut dispatch_error = None;
        if dispatch_after && order.stage == order::Stage::PendingDispatch {
            let dispatch = order::Command::Dispatch {
                unit: None,
                co_handlers: Vec::new(),
                handle_by: None,
            };
            match order::decide(&order, &dispatch, &context) {
                Ok(payloads) => {
                    let more = to_events(id, order.version, actor, at, payloads);
                    for event in &more {
                        order.apply(event).map_err(invariant)?;
                    }
                    new_events.extend(more);
                }
                Err(error) => dispatch_error = Some(error),
            }
        }
        order.check_invariants().map_err(violated)?;
        loaded.counters.insert(day, sequence);
        self.counters_touched.insert(day);
        if let Some(requester) = requester {
            self.requesters.push((id, requester));
        }
        self.texts.push((id, order.text.clone()));
        let outcome = Outcome {
            order_id: id,
            order_no: no,
            version: order.version,
            events: new_events,
            replayed: false,
            order: Some(Box::new(order.clone())),
            dispatch_error,
        };
        self.new_orders.insert(id);
        self.touched.push(id);
        loaded.insert(order);
        Ok(outcome)
    }

    /// A command on a loaded order, checked against the version the caller expected.
    fn command(
        &mut self,
        target: OrderRef,
        expected_version: Option<u64>,
        command: order::Command,
        actor: &Actor,
        at: Timestamp,
    ) -> Result<Outcome, CommandError> {
        let loaded = &mut *self.loaded;
        let id = match &target {
            OrderRef::Id(id) if loaded.orders.contains_key(id) => *id,
            OrderRef::No(no) if loaded.by_no.contains_key(no) => loaded.by_no[no],
            _ => return Err(CommandError::NotFound(target.to_string())),
        };
        let current = &loaded.orders[&id];
        if let Some(expected) = expected_version {
            if expected != current.version {
                return Err(CommandError::Conflict {
                    expected,
                    actual: current.version,
                });
            }
        }
        if let Some(other) = command.referenced_order() {
            if !loaded.by_no.contains_key(other) && other != &current.no {
                return Err(CommandError::NotFound(other.to_string()));
            }
        }
        let context = Context {
            now: at,
            actor,
            reference: self.reference,
        };
        let payloads = order::decide(current, &command, &context)?;
        let new_events = to_events(id, current.version, actor, at, payloads);
        let mut next = current.clone();
        for event in &new_events {
            next.apply(event).map_err(invariant)?;
        }
        next.check_invariants().map_err(violated)?;
        let outcome = Outcome {
            order_id: id,
            order_no: next.no.clone(),
            version: next.version,
            events: new_events,
            replayed: false,
            order: Some(Box::new(next.clone())),
            dispatch_error: None,
        };
        self.touched.push(id);
        loaded.orders.insert(id, next);
        Ok(outcome)
    }

    /// Collects what an accepted command writes besides its order: its events, the unit links
    /// of its dispatches and its idempotency record.
    fn record(&mut self, outcome: &Outcome, idempotency: Option<Idempotency>) {
        let order = &self.loaded.orders[&outcome.order_id];
        for event in &outcome.events {
            if let EventPayload::Dispatched(dispatched) = &event.payload {
                let received_at = to_millis(order.received_at);
                let link = |unit: &UnitCode, role| UnitLink {
                    unit: unit.clone(),
                    received_at,
                    order_id: order.id,
                    role,
                };
                self.unit_links.push(link(&dispatched.lead, "lead"));
                self.unit_links.extend(
                    dispatched
                        .co_handlers
                        .iter()
                        .map(|unit| link(unit, "co_handler")),
                );
                self.unit_links
                    .extend(dispatched.copied_to.iter().map(|unit| link(unit, "copied")));
            }
        }
        self.events.extend(outcome.events.iter().cloned());
        if let Some(idempotency) = idempotency {
            let slot = (idempotency.principal, idempotency.key);
            let record = (
                idempotency.request_hash,
                outcome.order_id,
                outcome.order_no.clone(),
                outcome.version,
            );
            self.loaded.idempotency.insert(slot.clone(), record.clone());
            self.new_keys.push((slot, record));
        }
    }

    /// The plan: the final state of every order touched once, and the counters' and intake
    /// volumes' changes summed over the batch.
    fn finish(self) -> Plan {
        let Planning {
            reference,
            loaded,
            mut expected,
            before,
            intake_before,
            before_counters,
            results,
            events,
            mut touched,
            new_orders,
            requesters,
            unit_links,
            counters_touched,
            new_keys,
            texts,
            ..
        } = self;
        let mut seen = BTreeSet::new();
        touched.retain(|id| seen.insert(*id));
        let counter_deltas = CountBasis::ALL.map(|basis| {
            let mut deltas: BTreeMap<CellKey, Counts> = BTreeMap::new();
            for id in &touched {
                for (key, counts) in contributions(&loaded.orders[id], basis) {
                    deltas.entry(key).or_default().add(&counts);
                }
                for (key, counts) in before
                    .get(id)
                    .map(|b| &b[basis.index()])
                    .into_iter()
                    .flatten()
                {
                    deltas.entry(key.clone()).or_default().sub(counts);
                }
            }
            deltas.into_iter().filter(|(_, c)| !c.is_zero()).collect()
        });
        let mut intake: BTreeMap<IntakeKey, i64> = BTreeMap::new();
        for id in &touched {
            *intake.entry(intake_key(&loaded.orders[id])).or_default() += 1;
            if let Some(key) = intake_before.get(id) {
                *intake.entry(key.clone()).or_default() -= 1;
            }
        }
        let intake_deltas = intake.into_iter().filter(|(_, n)| *n != 0).collect();
        let orders = touched
            .into_iter()
            .map(|id| (loaded.orders[&id].clone(), new_orders.contains(&id)))
            .collect();
        let counters = counters_touched
            .into_iter()
            .map(|day| (day, loaded.counters[&day]))
            .collect();
        expected.counters = before_counters;
        Plan {
            due_soon_minutes: reference.policy.due_soon_minutes,
            results,
            events,
            orders,
            requesters,
            unit_links,
            counters,
            idempotency: new_keys,
            texts,
            counter_deltas,
            intake_deltas,
            expected,
        }
    }
}

fn violated(e: impl std::fmt::Display) -> CommandError {
    CommandError::Store(StoreFailure::msg(format!("invariant violated: {e}")))
}

/// Decides one command. A panic in it (a defect in the core, never an input) refuses that command
/// alone with an internal error instead of failing the batch or stopping the writer; the state
/// the batch is planned on changes only at the end of a command's decision, so nothing of the
/// refused command remains.
fn guarded<T>(decide: impl FnOnce() -> Result<T, CommandError>) -> Result<T, CommandError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decide)).unwrap_or_else(|panic| {
        tracing::error!(
            panic = crate::faults::panic_text(&panic),
            "a command panicked while being decided; it was refused and nothing of it written"
        );
        Err(CommandError::Store(StoreFailure::msg(
            "internal error: the command could not be decided",
        )))
    })
}

fn to_events(
    id: OrderId,
    version: u64,
    actor: &Actor,
    at: Timestamp,
    payloads: Vec<EventPayload>,
) -> Vec<Event> {
    payloads
        .into_iter()
        .enumerate()
        .map(|(index, payload)| Event {
            order_id: id,
            seq: version + index as u64 + 1,
            at,
            actor: actor.clone(),
            payload,
        })
        .collect()
}

fn invariant(error: whistle_core::error::DomainError) -> CommandError {
    CommandError::Store(StoreFailure::msg(format!("invariant violated: {error}")))
}

/// The indexed columns of an order's projection row, shared by both backends.
pub(crate) struct Row<'a> {
    pub order: &'a Order,
    pub state: String,
    pub notice_at: Option<i64>,
}

impl<'a> Row<'a> {
    pub fn new(order: &'a Order, due_soon_minutes: i64) -> Result<Row<'a>, serde_json::Error> {
        Ok(Row {
            order,
            state: serde_json::to_string(order)?,
            notice_at: order.next_notice_at(due_soon_minutes).map(to_millis),
        })
    }
    pub fn stage(&self) -> &'static str {
        self.order.stage.name()
    }
    pub fn lead(&self) -> Option<&str> {
        self.order.lead().map(|u| u.as_str())
    }
    pub fn respond_by(&self) -> Option<i64> {
        self.order.respond_by.map(to_millis)
    }
    pub fn handle_by(&self) -> Option<i64> {
        self.order.handle_by.map(to_millis)
    }
    pub fn next_due_at(&self) -> Option<i64> {
        self.order.next_due_at().map(to_millis)
    }
    pub fn closed_at(&self) -> Option<i64> {
        self.order.closed_at.map(to_millis)
    }
    /// The decisions the centre owes (bit 1: a dispute, bit 2: an extension request), `None`
    /// when none: the `awaiting` column of the dispatcher's queues.
    pub fn awaiting(&self) -> Option<i16> {
        let bits = i16::from(self.order.dispute.is_some())
            | (i16::from(self.order.extension.is_some()) << 1);
        (bits != 0).then_some(bits)
    }
    /// What the handling units owe (bit 1: rework after a reopen — 重办; bit 2: a co-handler's
    /// part — 协办反馈), `None` when nothing: the `owed` column the inboxes filter on.
    pub fn owed(&self) -> Option<i16> {
        let bits = i16::from(self.order.in_rework())
            | (i16::from(!self.order.parts_owed().is_empty()) << 1);
        (bits != 0).then_some(bits)
    }
    /// The lead unit's person (承办人) while the order is with a unit: the `assignee` column of
    /// the inbox's "assigned to me".
    pub fn assignee(&self) -> Option<&str> {
        let lead = &self.order.assignment()?.lead;
        self.order.assignee(lead)
    }
    pub fn excluded(&self) -> bool {
        self.order.unreasonable.is_some()
    }
    pub fn territory(&self, level: u8) -> Option<&str> {
        let territory = &self.order.location.territory;
        match level {
            0 => territory.district.as_ref(),
            1 => territory.street.as_ref(),
            _ => territory.community.as_ref(),
        }
        .map(|u| u.as_str())
    }
}
