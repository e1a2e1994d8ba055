//! What the JSON API shows, as its own types: the stored projection (`orders.state`, the core's
//! `Order`) and the API body are separate, so a field renamed in one is a decision about the
//! other, not an accident. The golden test below pins the body's field names and order.
//!
//! Invariant: nothing reaches an API body from the core's projection except through a view.

use serde::Serialize;
use whistle_core::ids::{CategoryCode, OrderId, OrderNo};
use whistle_core::order::{
    Assignee, Channel, EscalationLevel, Location, Notice, Order, Part, PendingDispute,
    PendingExtension, Record, Reply, RequestType, Ruling, Stage, Urgency, VisitResult,
    WhistleOutcome,
};
use whistle_core::time::Timestamp;
use whistle_store::Requester;

/// An order as the API shows it: its state, and the requester as the caller may see them
/// (masked unless revealed).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub no: OrderNo,
    pub version: u64,
    pub received_at: Timestamp,
    pub channel: Channel,
    pub request_type: RequestType,
    pub text: String,
    pub category: CategoryCode,
    pub urgency: Urgency,
    pub location: Location,
    pub stage: Stage,
    pub respond_by: Option<Timestamp>,
    pub handle_by: Option<Timestamp>,
    pub dispatched_at: Option<Timestamp>,
    pub catalogue_version: Option<u32>,
    pub accepted_at: Option<Timestamp>,
    pub contacted_at: Option<Timestamp>,
    pub contacted_in_time: Option<bool>,
    pub replied_at: Option<Timestamp>,
    pub reply: Option<Reply>,
    pub visit: Option<VisitResult>,
    pub visited_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub dispute: Option<PendingDispute>,
    pub extension: Option<PendingExtension>,
    pub escalation: Option<EscalationLevel>,
    pub unreasonable: Option<Ruling>,
    pub notices: Vec<Notice>,
    pub urge_count: u32,
    pub flagged: bool,
    pub linked_to: Vec<OrderNo>,
    pub reopen_count: u32,
    pub disputes_upheld: u32,
    pub parts: Vec<Part>,
    pub whistle_outcomes: Vec<WhistleOutcome>,
    /// 承办人 per unit; absent while no unit assigned one.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub assignees: Vec<Assignee>,
    /// The history as the evaluation counts it (考核记录): rounds and visits; absent before the
    /// first dispatch.
    #[serde(skip_serializing_if = "Record::is_empty", default)]
    pub record: Record,
    pub last_event_at: Timestamp,
    /// The unit answerable for it now (主办单位): the stage's lead, at the top level for readers
    /// who do not walk the stage.
    pub lead_unit: Option<whistle_core::ids::UnitCode>,
    pub requester: Option<Requester>,
}

impl OrderView {
    pub fn new(order: Order, requester: Option<Requester>) -> OrderView {
        let lead_unit = order.lead().cloned();
        let Order {
            id,
            no,
            version,
            received_at,
            channel,
            request_type,
            text,
            category,
            urgency,
            location,
            stage,
            respond_by,
            handle_by,
            dispatched_at,
            catalogue_version,
            accepted_at,
            contacted_at,
            contacted_in_time,
            replied_at,
            reply,
            visit,
            visited_at,
            closed_at,
            dispute,
            extension,
            escalation,
            unreasonable,
            notices,
            urge_count,
            flagged,
            linked_to,
            reopen_count,
            disputes_upheld,
            parts,
            whistle_outcomes,
            assignees,
            record,
            last_event_at,
        } = order;
        OrderView {
            id,
            no,
            version,
            received_at,
            channel,
            request_type,
            text,
            category,
            urgency,
            location,
            stage,
            respond_by,
            handle_by,
            dispatched_at,
            catalogue_version,
            accepted_at,
            contacted_at,
            contacted_in_time,
            replied_at,
            reply,
            visit,
            visited_at,
            closed_at,
            dispute,
            extension,
            escalation,
            unreasonable,
            notices,
            urge_count,
            flagged,
            linked_to,
            reopen_count,
            disputes_upheld,
            parts,
            whistle_outcomes,
            assignees,
            record,
            last_event_at,
            lead_unit,
            requester,
        }
    }
}

/// One entry of a history — an order's, a whistle's or a grid case's, all in this one shape:
/// its number in the history, when, who (user and unit), and the event (`event.event` names it).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct HistoryEntry<E: Serialize> {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: whistle_core::ids::Actor,
    pub event: E,
}

/// A history as the API shows it: the number and the entries, oldest first.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct History<E: Serialize> {
    pub no: String,
    pub events: Vec<HistoryEntry<E>>,
}

impl HistoryEntry<whistle_core::order::EventPayload> {
    pub fn of_order(event: whistle_core::order::Event) -> Self {
        HistoryEntry {
            seq: event.seq,
            at: event.at,
            actor: event.actor,
            event: event.payload,
        }
    }
}

impl HistoryEntry<whistle_core::whistle::WhistleEvent> {
    pub fn of_whistle(record: whistle_core::whistle::WhistleRecord) -> Self {
        HistoryEntry {
            seq: record.seq,
            at: record.at,
            actor: record.actor,
            event: record.event,
        }
    }
}

impl HistoryEntry<whistle_core::grid::GridEvent> {
    pub fn of_grid(record: whistle_core::grid::GridRecord) -> Self {
        HistoryEntry {
            seq: record.seq,
            at: record.at,
            actor: record.actor,
            event: record.event,
        }
    }
}

/// A JSON response body with every instant in Beijing time (RFC 3339, `+08:00`): the API's one
/// time zone on the outside (`whistle_core::outside`). The API's handlers answer with this, not
/// with `axum::Json`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        match serde_json::to_vec(&whistle_core::outside::InBeijing(&self.0)) {
            Ok(body) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(error) => {
                tracing::error!(%error, "a response could not be serialized");
                axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order body keeps the shape it had when the API showed the projection flattened:
    /// the projection's fields in its order, then the lead unit and the requester.
    #[test]
    fn the_order_body_is_the_projection_and_the_requester() {
        let stored = include_str!("../../whistle-store/tests/golden/order_state.json");
        let order: Order = serde_json::from_str(stored.trim_end()).unwrap();
        let requester = Requester {
            name: Some("张*".into()),
            phone: Some("*******1234".into()),
            address_detail: None,
        };
        let body = serde_json::to_string(&OrderView::new(order, Some(requester.clone()))).unwrap();
        let expected = format!(
            "{},\"lead_unit\":\"110105010\",\"requester\":{}}}",
            stored.trim_end().trim_end_matches('}'),
            serde_json::to_string(&requester).unwrap()
        );
        assert_eq!(body, expected);
    }
}
