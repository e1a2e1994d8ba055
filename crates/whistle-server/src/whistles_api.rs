//! `/api/v1/whistles`: raise, list, show, history and every whistle command. The engine checks
//! the unit a person acts for (the raising street, a summoned unit, the street's district);
//! here: a role that may act at all, and the jurisdiction a whistle is visible in.

use crate::views::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_core::whistle::{Raise, Whistle, WhistleCommand};
use whistle_store::whistles::{WhistleEnvelope, WhistleRequest};
use whistle_store::Scope;

use crate::api::{parse_json, parse_known};
use crate::auth::{Language, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

fn may_act(principal: &Principal, step: &str, lang: Lang) -> ApiResult<()> {
    if principal.role(lang)?.may_whistle(step) {
        Ok(())
    } else {
        Err(ApiError::forbidden(lang))
    }
}

/// The same rule as the store's list query.
fn visible(scope: &Scope, whistle: &Whistle) -> bool {
    match scope {
        Scope::All => true,
        Scope::District(district) => &whistle.district == district,
        Scope::Street(street) => &whistle.street == street,
        Scope::Units(units) => {
            units.contains(&whistle.street)
                || units.contains(&whistle.district)
                || whistle.summons.iter().any(|s| units.contains(&s.unit))
        }
    }
}

async fn visible_whistle(
    state: &AppState,
    principal: &Principal,
    no: &str,
    lang: Lang,
) -> ApiResult<Whistle> {
    let whistle = state
        .store
        .whistle(no)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    match whistle {
        Some(whistle) if visible(&principal.scope, &whistle) => Ok(whistle),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "吹哨记录不存在",
            "no such whistle",
            lang,
        )),
    }
}

pub async fn raise(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    may_act(&principal, "raise", lang)?;
    let raise: Raise = parse_known(parse_json(&body, lang)?, lang)?;
    let envelope = WhistleEnvelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: WhistleRequest::Raise(Box::new(raise)),
    };
    let outcome = state
        .store
        .execute_whistle(envelope)
        .await
        .map_err(|e| ApiError::command_on(e, crate::error::Subject::Whistle, lang))?;
    state.whistle_written.notify_waiters();
    Ok((StatusCode::CREATED, Json(outcome.whistle)).into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
) -> ApiResult<Json<Vec<Whistle>>> {
    let whistles = state
        .store
        .list_whistles(&principal.scope, 200)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(whistles))
}

pub async fn show(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<Whistle>> {
    Ok(Json(visible_whistle(&state, &principal, &no, lang).await?))
}

pub async fn history(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path(no): Path<String>,
) -> ApiResult<Json<crate::views::History<whistle_core::whistle::WhistleEvent>>> {
    let whistle = visible_whistle(&state, &principal, &no, lang).await?;
    let records = state
        .store
        .whistle_history(whistle.id)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(crate::views::History {
        no: whistle.no,
        events: records
            .into_iter()
            .map(crate::views::HistoryEntry::of_whistle)
            .collect(),
    }))
}

pub const COMMANDS: [&str; 9] = [
    "report_in",
    "resolve_absence",
    "assign_task",
    "complete_task",
    "hold_consultation",
    "close",
    "rate",
    "object",
    "decide_objection",
];

/// `POST /api/v1/whistles/{no}/{command}` with `{"version": N, …}`. Absences are marked by the
/// deadline worker, not over the API.
pub async fn command(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    Path((no, name)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Whistle>> {
    let body = body.map_err(|e| ApiError::body(e, lang))?;
    if !COMMANDS.contains(&name.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_command",
            "没有这个命令",
            "no such command",
            lang,
        ));
    }
    may_act(&principal, &name, lang)?;
    let (command, version): (WhistleCommand, u64) =
        crate::api::parse_command_body(&body, &name, lang)?;
    let whistle = visible_whistle(&state, &principal, &no, lang).await?;
    let envelope = WhistleEnvelope {
        actor: principal.actor(),
        at: state.clock.now(),
        request: WhistleRequest::Command {
            whistle: whistle.no,
            expected_version: Some(version),
            command,
        },
    };
    let outcome = state
        .store
        .execute_whistle(envelope)
        .await
        .map_err(|e| ApiError::command_on(e, crate::error::Subject::Whistle, lang))?;
    state.whistle_written.notify_waiters();
    Ok(Json(*outcome.whistle))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhistleListQuery {
    /// The street whose list to show; default: the caller's own street.
    #[schemars(with = "Option<whistle_core::ids::UnitCode>")]
    street: Option<String>,
}

/// `GET /api/v1/whistle-list`: the whistle list (吹哨事项清单) as it applies to a street, each
/// item with its default lead and assisting units resolved in the street's district.
pub async fn whistle_list(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    crate::input::Params(params): crate::input::Params<WhistleListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    principal.role(lang)?;
    let reference = state.store.reference();
    let directory = &reference.directory;
    let street = match &params.street {
        Some(text) => {
            whistle_core::ids::UnitCode::parse(text).map_err(|e| ApiError::domain(&e, lang))?
        }
        None => directory
            .enclosing(&principal.unit, |kind| kind.is_street_level())
            .map(|unit| unit.code.clone())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    "street is required (not a street user)",
                    lang,
                )
            })?,
    };
    let unit = directory
        .require(&street)
        .map_err(|e| ApiError::domain(&e, lang))?;
    if !unit.kind.is_street_level() {
        return Err(ApiError::domain(
            &whistle_core::error::DomainError::NotWhistleStreet,
            lang,
        ));
    }
    let items = reference
        .whistle_list
        .for_street(&street, directory)
        .into_iter()
        .map(|item| {
            let defaults = whistle_core::whistle::WhistleList::resolve(
                item,
                &street,
                directory,
                &reference.city,
            )
            .ok();
            serde_json::json!({
                "code": item.code,
                "kind": item.kind,
                "title": item.title,
                "territory": item.territory,
                "lead": defaults.as_ref().map(|(lead, _)| lead),
                "assisting": defaults.map(|(_, assisting)| assisting).unwrap_or_default(),
            })
        })
        .collect::<Vec<_>>();
    Ok(Json(serde_json::json!({"street": street, "items": items})))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Resume after this position (as `Last-Event-ID` does); default: only new events.
    #[schemars(range(min = 0))]
    after: Option<i64>,
}

/// How long a gap in positions may stay open before the feed passes it: PostgreSQL hands out
/// positions before commit, so with several servers a later position can become visible first
/// (the feed holds it back until the earlier one commits, so events go out in position order);
/// a rolled-back transaction leaves its position unused for ever, and after this long the feed
/// goes on without it.
const GAP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

struct Feed {
    state: Arc<AppState>,
    scope: Scope,
    /// Every position up to here has been delivered (sent, filtered out or given up on).
    cursor: i64,
    /// Positions above the cursor already read, held back behind a gap: the event to send, or
    /// None for one outside the caller's jurisdiction.
    held: std::collections::BTreeMap<i64, Option<axum::response::sse::Event>>,
    /// The open gap's position and since when it is open.
    gap_since: Option<(i64, std::time::Instant)>,
    queue: std::collections::VecDeque<axum::response::sse::Event>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    first: bool,
}

impl Feed {
    /// Reads what is new; returns false when the feed should end.
    async fn fill(&mut self) -> bool {
        loop {
            if *self.shutdown.borrow() {
                return false;
            }
            let wait = std::time::Duration::from_millis(self.state.settings.feed_poll_ms.max(50));
            if !self.first {
                let state = self.state.clone();
                let notified = state.whistle_written.notified();
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.shutdown.changed() => return false,
                }
            }
            self.first = false;
            let Ok(items) = self.state.store.whistle_feed(self.cursor, 200).await else {
                // A failing store: try again at the next tick.
                continue;
            };
            for item in items {
                if self.held.contains_key(&item.position) {
                    continue;
                }
                let event = visible(&self.scope, &item.whistle)
                    .then(|| {
                        // Every instant in Beijing time, as the rest of the API.
                        let data = serde_json::json!({
                            "position": item.position,
                            "no": item.whistle.no,
                            "at": whistle_core::outside::to_value(&item.record.at),
                            "actor": item.record.actor,
                            "event": whistle_core::outside::to_value(&item.record.event),
                            "whistle": whistle_core::outside::to_value(&item.whistle),
                        });
                        axum::response::sse::Event::default()
                            .id(item.position.to_string())
                            .event("whistle")
                            .json_data(data)
                            .ok()
                    })
                    .flatten();
                self.held.insert(item.position, event);
            }
            self.release();
            if !self.queue.is_empty() {
                return true;
            }
        }
    }

    /// Sends the held events that follow the cursor without a gap, in position order; passes a
    /// gap that stayed open longer than [`GAP_PATIENCE`].
    fn release(&mut self) {
        loop {
            while let Some(event) = self.held.remove(&(self.cursor + 1)) {
                self.cursor += 1;
                self.queue.extend(event);
            }
            if self.held.is_empty() {
                self.gap_since = None;
                return;
            }
            // The gap is the position after the cursor; a new gap starts its own wait.
            let gap = self.cursor + 1;
            match self.gap_since {
                Some((at, since)) if at == gap && since.elapsed() > GAP_PATIENCE => {
                    self.cursor = gap;
                    self.gap_since = None;
                }
                Some((at, _)) if at == gap => return,
                _ => {
                    self.gap_since = Some((gap, std::time::Instant::now()));
                    return;
                }
            }
        }
    }
}

/// `GET /api/v1/whistles/feed`: a live feed (server-sent events) of the whistle events within
/// the caller's jurisdiction — a summoned department sees its summons at once. Each event has
/// the feed position as its id, so a client that reconnects with `Last-Event-ID` misses nothing.
pub async fn feed(
    State(state): State<Arc<AppState>>,
    Language(lang): Language,
    principal: Principal,
    headers: axum::http::HeaderMap,
    crate::input::Params(params): crate::input::Params<FeedQuery>,
) -> ApiResult<Response> {
    principal.role(lang)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let cursor = match resume.or(params.after) {
        Some(position) if position >= 0 => position,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "after must not be negative",
                lang,
            ))
        }
        None => state
            .store
            .whistle_feed_head()
            .await
            .map_err(|e| ApiError::store(e, lang))?,
    };
    let feed = Feed {
        shutdown: state.shutting_down.subscribe(),
        state,
        scope: principal.scope.clone(),
        cursor,
        held: Default::default(),
        gap_since: None,
        queue: Default::default(),
        first: true,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        if feed.queue.is_empty() && !feed.fill().await {
            return None;
        }
        let event = feed.queue.pop_front()?;
        Some((Ok::<_, std::convert::Infallible>(event), feed))
    });
    Ok(axum::response::sse::Sse::new(stream)
        .keep_alive(axum::response::sse::KeepAlive::default())
        .into_response())
}
