//! The types the Store trait speaks besides the domain's own.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use whistle_core::calendar::CalendarYear;
use whistle_core::catalogue::{CatalogueEntry, DutyHolder};
use whistle_core::error::DomainError;
use whistle_core::ids::{Actor, CategoryCode, OrderId, OrderNo, UnitCode};
use whistle_core::order::{Command, Event, Intake};
use whistle_core::org::Unit;
use whistle_core::policy::Policy;
use whistle_core::taxonomy::Category;
use whistle_core::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Migrate {
    /// Apply pending migrations (`whistle migrate`, `whistle init`).
    Apply,
    /// Refuse a schema at any version but this binary's.
    Refuse,
}

/// How a command names its order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OrderRef {
    Id(OrderId),
    No(OrderNo),
}

impl std::fmt::Display for OrderRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderRef::Id(id) => id.fmt(f),
            OrderRef::No(no) => no.fmt(f),
        }
    }
}

/// The requester's personal data (DOMAIN §8): kept apart from events and projections, so
/// histories, logs and exports never carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Requester {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address_detail: Option<String>,
}

impl Requester {
    /// The masked form shown to users who do not need the data: `张*`, `*******5678` (at most the last four digits of any number).
    pub fn masked(&self) -> Requester {
        Requester {
            name: self.name.as_deref().map(mask_name),
            phone: self.phone.as_deref().map(mask_phone),
            address_detail: self.address_detail.as_ref().map(|_| "***".to_string()),
        }
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(phone) = &self.phone {
            let digits = phone
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '+'))
                .collect::<String>();
            if digits.len() < 5 || digits.len() > 20 || !digits.chars().all(|c| c.is_ascii_digit())
            {
                // The value itself is personal data: never echo it in the error.
                return Err(DomainError::InvalidValue {
                    field: "phone".into(),
                    value: "***".into(),
                });
            }
        }
        for (field, value, max) in [
            ("name", &self.name, 100),
            ("address_detail", &self.address_detail, 500),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                return Err(DomainError::InvalidValue {
                    field: field.into(),
                    value: "***".into(),
                });
            }
        }
        Ok(())
    }
}

pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

pub fn mask_phone(phone: &str) -> String {
    // The extension (分机) is masked whole: after 转, ext, x, #, a comma, or a third group of a
    // dashed landline (010-62345678-123).
    let marker = ["转", "ext", "EXT", "x", "X", "#", ",", "，"]
        .iter()
        .filter_map(|m| phone.find(m))
        .min();
    let split = marker.or_else(|| {
        let dashes: Vec<usize> = phone.match_indices('-').map(|(i, _)| i).collect();
        (dashes.len() >= 2).then(|| dashes[1])
    });
    let (main, extension) = phone.split_at(split.unwrap_or(phone.len()));
    let digits = main.chars().filter(char::is_ascii_digit).count();
    // Of the number itself at most the last four digits show, and none of a short one.
    let visible = if digits >= 8 { 4 } else { 0 };
    let mut seen = 0;
    let mut out: String = main
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen > digits - visible {
                    c
                } else {
                    '*'
                }
            } else {
                c
            }
        })
        .collect();
    out.extend(
        extension
            .chars()
            .map(|c| if c.is_ascii_digit() { '*' } else { c }),
    );
    out
}

/// What to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Intake {
        intake: Box<Intake>,
        requester: Option<Requester>,
    },
    Command {
        order: OrderRef,
        expected_version: Option<u64>,
        command: Command,
    },
    /// Intake and, when the triage is `dispatch`, dispatch by the catalogue in the same step.
    /// A refused dispatch leaves a valid intake; the refusal is in `Outcome::dispatch_error`.
    IntakeAndDispatch {
        intake: Box<Intake>,
        requester: Option<Requester>,
    },
}

/// A request with who makes it and when (from the caller's clock).
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub actor: Actor,
    pub at: Timestamp,
    pub request: Request,
}

/// A committed command: the events it appended and the order's new version.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub order_id: OrderId,
    pub order_no: OrderNo,
    pub version: u64,
    pub events: Vec<Event>,
    /// True when an idempotency key matched an earlier request: nothing was executed now, and
    /// `version` is the version that request produced.
    pub replayed: bool,
    /// The order after the command (absent for a replay).
    pub order: Option<Box<whistle_core::order::Order>>,
    /// Why the dispatch of an `IntakeAndDispatch` was refused, if it was.
    pub dispatch_error: Option<DomainError>,
}

/// An idempotency key for a write: the first result is stored with the command, in its
/// transaction; a retry with the same key and the same request gets that result again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    /// Whose key space (a user login or a token id): keys of different clients never collide.
    pub principal: String,
    pub key: String,
    /// A hash of the request; the same key with another request is refused.
    pub request_hash: String,
}

/// What part of the orders a principal may see. Enforced by the store's queries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", content = "of", rename_all = "snake_case")]
pub enum Scope {
    /// The 12345 centre, administrators.
    All,
    /// A district's leaders and sub-centre: orders located in the district.
    District(UnitCode),
    /// A street's leaders: orders located in the street.
    Street(UnitCode),
    /// A handling unit (lead, co-handler or copied), or a department line (all its units).
    Units(Vec<UnitCode>),
}

/// An account (the role is the server's vocabulary; the store keeps it as text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub login: String,
    pub display_name: String,
    /// The first role, with its unit: what a new session acts in.
    pub role: String,
    pub unit: UnitCode,
    pub active: bool,
    /// Further roles the person holds, each with its unit; a session may switch to any of them.
    #[serde(default)]
    pub other_roles: Vec<Grant>,
}

impl Account {
    /// Every role the account holds, the first one first.
    pub fn grants(&self) -> Vec<Grant> {
        let mut grants = vec![Grant {
            role: self.role.clone(),
            unit: self.unit.clone(),
        }];
        grants.extend(self.other_roles.iter().cloned());
        grants
    }

    /// Whether the account holds this role at this unit.
    pub fn holds(&self, grant: &Grant) -> bool {
        (self.role == grant.role && self.unit == grant.unit) || self.other_roles.contains(grant)
    }
}

/// A role held at a unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grant {
    pub role: String,
    pub unit: UnitCode,
}

impl Grant {
    /// Reads the written form `role@unit` (a form's value); None if it is not one.
    pub fn parse(text: &str) -> Option<Grant> {
        let (role, unit) = text.split_once('@')?;
        Some(Grant {
            role: role.to_string(),
            unit: UnitCode::parse(unit).ok()?,
        })
    }
}

/// `role@unit`, the form [`Grant::parse`] reads.
impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.role, self.unit)
    }
}

/// A login session as stored: whose it is, until when, and the role it acts in if switched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub login: String,
    pub expires_at: Timestamp,
    /// None: the account's first role.
    pub acting: Option<Grant>,
}

/// An integration token's stored record; the secret itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub secret_hash: String,
    pub name: String,
    pub scope: String,
    pub login: Option<String>,
    pub unit: UnitCode,
    pub revoked: bool,
}

#[derive(Clone, Debug, Error, PartialEq)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("order {0} not found")]
    NotFound(String),
    #[error("order changed: you saw version {expected}, it is now at {actual}")]
    Conflict { expected: u64, actual: u64 },
    #[error("this idempotency key was used for a different request")]
    IdempotencyMismatch,
    #[error("storage failed: {0}")]
    Store(#[source] StoreFailure),
}

/// Why storage failed, with its cause kept (the chain of sources: a PostgreSQL serialisation
/// failure, a full disk, a stopped writer…), cheap to clone: one failed batch answers each of its
/// commands with the same failure. Shown as the whole chain (`"failed to …: cause"`); the edge
/// maps [`StoreFailure::kind`] to a stable key and never shows the text to a user.
#[derive(Clone, Debug)]
pub struct StoreFailure(std::sync::Arc<anyhow::Error>);

/// What a caller can do about a storage failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The database was busy or the transaction lost a conflict: the same command may succeed
    /// if sent again.
    Busy,
    /// The disk or database is full: nothing can be written until an operator acts.
    Full,
    /// Anything else (a stopped writer, a corrupt row, a lost connection…).
    Other,
}

impl StoreFailure {
    /// A failure with no cause below it.
    pub fn msg(text: impl std::fmt::Display) -> StoreFailure {
        StoreFailure(std::sync::Arc::new(anyhow::anyhow!("{text}")))
    }

    /// A failure caused by `error`, described by `context` ("failed to write the batch").
    pub fn caused(context: &'static str, error: impl Into<StoreFailure>) -> StoreFailure {
        let error = match std::sync::Arc::try_unwrap(error.into().0) {
            Ok(error) => error,
            Err(shared) => anyhow::anyhow!("{shared:#}"),
        };
        StoreFailure(std::sync::Arc::new(error.context(context)))
    }

    pub fn kind(&self) -> FailureKind {
        kind_of(&self.0)
    }
}

fn kind_of(error: &anyhow::Error) -> FailureKind {
    for cause in error.chain() {
        if let Some(StoreError::Other(inner)) = cause.downcast_ref::<StoreError>() {
            // Transparent: its own chain starts below the error it wraps.
            match kind_of(inner) {
                FailureKind::Other => {}
                kind => return kind,
            }
        }
        if let Some(error) = cause.downcast_ref::<tokio_postgres::Error>() {
            use tokio_postgres::error::SqlState;
            match error.code() {
                Some(code)
                    if *code == SqlState::T_R_SERIALIZATION_FAILURE
                        || *code == SqlState::T_R_DEADLOCK_DETECTED
                        || *code == SqlState::LOCK_NOT_AVAILABLE =>
                {
                    return FailureKind::Busy
                }
                Some(code) if *code == SqlState::DISK_FULL => return FailureKind::Full,
                _ => {}
            }
        }
        if let Some(rusqlite::Error::SqliteFailure(error, _)) =
            cause.downcast_ref::<rusqlite::Error>()
        {
            use rusqlite::ErrorCode;
            match error.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => return FailureKind::Busy,
                ErrorCode::DiskFull => return FailureKind::Full,
                _ => {}
            }
        }
    }
    FailureKind::Other
}

impl std::fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for StoreFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two failures are equal when they say the same (tests compare results).
impl PartialEq for StoreFailure {
    fn eq(&self, other: &StoreFailure) -> bool {
        self.to_string() == other.to_string()
    }
}

impl From<anyhow::Error> for StoreFailure {
    fn from(error: anyhow::Error) -> StoreFailure {
        StoreFailure(std::sync::Arc::new(error))
    }
}

impl From<serde_json::Error> for StoreFailure {
    fn from(error: serde_json::Error) -> StoreFailure {
        StoreFailure(std::sync::Arc::new(error.into()))
    }
}

impl From<rusqlite::Error> for StoreFailure {
    fn from(error: rusqlite::Error) -> StoreFailure {
        StoreFailure(std::sync::Arc::new(error.into()))
    }
}

impl From<StoreError> for StoreFailure {
    fn from(error: StoreError) -> StoreFailure {
        match error {
            StoreError::Other(error) => StoreFailure(std::sync::Arc::new(error)),
            other => StoreFailure(std::sync::Arc::new(anyhow::Error::new(other))),
        }
    }
}

/// A storage error met while running a command is a storage failure with its cause (even a
/// domain error: it came from stored data that no longer reads, not from the command).
impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> CommandError {
        CommandError::Store(error.into())
    }
}

impl CommandError {
    pub fn key(&self) -> &'static str {
        match self {
            CommandError::Domain(error) => error.key(),
            CommandError::NotFound(_) => "not_found",
            CommandError::Conflict { .. } => "conflict",
            CommandError::IdempotencyMismatch => "idempotency_mismatch",
            CommandError::Store(failure) => match failure.kind() {
                FailureKind::Busy => "store_busy",
                FailureKind::Full => "store_full",
                FailureKind::Other => "store",
            },
        }
    }

    pub fn message(&self, lang: whistle_core::error::Lang) -> String {
        use whistle_core::error::Lang;
        match (self, lang) {
            (CommandError::Domain(error), lang) => error.message(lang),
            (CommandError::Store(_), Lang::En) => {
                "storage failed; the command was not run, try again".to_string()
            }
            (_, Lang::En) => self.to_string(),
            (CommandError::NotFound(no), Lang::Zh) => format!("工单 {no} 不存在"),
            (CommandError::Conflict { expected, actual }, Lang::Zh) if expected > actual => {
                format!("工单还没有第 {expected} 版（当前为第 {actual} 版），请刷新后重试")
            }
            (CommandError::Conflict { expected, actual }, Lang::Zh) => {
                format!("工单已被他人更新（您看到的是第 {expected} 版，当前为第 {actual} 版），请刷新后重试")
            }
            (CommandError::IdempotencyMismatch, Lang::Zh) => {
                "该幂等键已用于另一个不同的请求".to_string()
            }
            (CommandError::Store(_), Lang::Zh) => "存储失败，命令未执行，请重试".to_string(),
        }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Schema(String),
    #[error("{0}")]
    Config(String),
    #[error("import failed: {0}")]
    Import(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Other(anyhow::Error::new(error))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::Other(anyhow::Error::new(error))
    }
}

/// Filters for order lists; all set fields must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFilter {
    /// Orders this unit leads or co-handles (or was copied on).
    pub unit: Option<UnitCode>,
    pub stage: Option<String>,
    pub district: Option<UnitCode>,
    pub street: Option<UnitCode>,
    /// A category and its descendants.
    pub category: Option<CategoryCode>,
    pub received_from: Option<Timestamp>,
    pub received_before: Option<Timestamp>,
    /// A substring of the request text (Chinese or not), found through the trigram index.
    pub text: Option<String>,
    /// Only orders that came in through this channel (`open311` …).
    pub channel: Option<String>,
    /// Only orders of this urgency.
    #[serde(default)]
    pub urgency: Option<whistle_core::taxonomy::Urgency>,
    /// Only orders waiting for the centre's decision on a dispute or an extension request
    /// (from a partial index over the stored state: the queues are small, the table is not).
    #[serde(default)]
    pub awaiting: Option<Awaiting>,
    /// Only orders on which a handling unit owes something (重办, 协办反馈); with `unit`, what
    /// that unit owes.
    #[serde(default)]
    pub owed: Option<Owed>,
    /// Only open orders whose earliest running deadline is at or before this time (临期, 超期).
    #[serde(default)]
    pub due_before: Option<Timestamp>,
    /// Only orders whose earliest running deadline is after this time (临期 without 超期).
    #[serde(default)]
    pub due_after: Option<Timestamp>,
    /// Only open orders late by three times the time allowed or more at this time (三倍超期): the
    /// allowance is received → earliest running deadline, the time taken received → this time.
    #[serde(default)]
    pub thrice_late_at: Option<Timestamp>,
    /// Only orders led by one of these units (a department line's units); an empty list
    /// matches nothing.
    #[serde(default)]
    pub lead_units: Option<Vec<UnitCode>>,
    /// Only orders whose lead unit assigned them to this person (a login), or to nobody yet.
    #[serde(default)]
    pub assignee: Option<AssignedTo>,
    /// Oldest first (a queue worked in arrival order) instead of newest first.
    #[serde(default)]
    pub oldest_first: bool,
    /// By the earliest running deadline, soonest first (through the due index; only open orders
    /// with a running deadline): the supervisor's board. Overrides `oldest_first`.
    #[serde(default)]
    pub by_deadline: bool,
}

/// A decision the dispatch centre owes on an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Awaiting {
    /// 派单异议: the lead unit disputes the dispatch.
    Dispute,
    /// 延期申请: the lead unit asks for more time.
    Extension,
}

/// The lead unit's person an order is assigned to (承办人), for a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignedTo {
    /// To this login.
    Person(String),
    /// Not assigned yet.
    Nobody,
}

/// What a handling unit owes on an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owed {
    /// 重办: reopened after a dissatisfied visit and back with its unit, not yet answered.
    Rework,
    /// 协办反馈: a co-handler's part, not reported since the current dispatch.
    Part,
}

pub const PAGE_LIMIT_MAX: u32 = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// The cursor returned with the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            after: None,
            limit: 50,
        }
    }
}

impl PageRequest {
    pub fn limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, PAGE_LIMIT_MAX))
    }

    /// The decoded cursor: a time in milliseconds and an order id.
    pub fn cursor(&self) -> Result<Option<(i64, OrderId)>, StoreError> {
        let Some(text) = &self.after else {
            return Ok(None);
        };
        let bad = || {
            StoreError::Config(format!(
                "invalid cursor {:?}",
                text.chars().take(60).collect::<String>()
            ))
        };
        let (millis, id) = text.split_once('_').ok_or_else(bad)?;
        let millis: i64 = millis.parse().map_err(|_| bad())?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Some((millis, OrderId(id))))
    }
}

pub fn encode_cursor(millis: i64, id: OrderId) -> String {
    format!("{millis}_{}", id.0)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A row of an order list: the indexed columns, no text, no personal data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderSummary {
    pub id: OrderId,
    pub no: OrderNo,
    pub version: u64,
    pub stage: String,
    pub request_type: String,
    pub category: String,
    pub urgency: String,
    pub district: Option<String>,
    pub street: Option<String>,
    pub lead_unit: Option<String>,
    pub received_at: Timestamp,
    pub respond_by: Option<Timestamp>,
    pub handle_by: Option<Timestamp>,
    pub next_due_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub excluded: bool,
}

/// Reference data to import; each kind replaces or extends what is stored.
#[derive(Clone, Debug)]
pub enum ReferenceImport {
    /// Adds new units and updates existing ones (renames recorded as changes).
    Units(Vec<Unit>),
    /// Adds and updates categories.
    Categories(Vec<Category>),
    /// A complete new catalogue version; older versions stay readable.
    Catalogue {
        entries: Vec<CatalogueEntry>,
        note: String,
    },
    /// Replaces the duty lists.
    Duties(Vec<(DutyHolder, CategoryCode)>),
    /// Adds or replaces calendar years.
    Calendar(Vec<CalendarYear>),
    /// Replaces the policy.
    Policy(Box<Policy>),
    /// Replaces the whistle list (吹哨事项清单).
    WhistleList(Vec<whistle_core::whistle::WhistleListItem>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub catalogue_version: Option<u32>,
}

pub type EvaluationCell = (
    UnitCode,
    whistle_core::ids::CategoryCode,
    whistle_core::evaluation::Counts,
);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub orders: u64,
    pub events: u64,
    /// Orders whose stored projection differed from the replay (then rewritten).
    pub differing: Vec<String>,
    /// Evaluation counter cells that differed from the recount (then rewritten).
    pub counter_cells_differing: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_storage_failure_keeps_its_cause_and_says_what_to_do() {
        let busy = CommandError::Store(StoreFailure::caused(
            "failed to write the batch",
            StoreError::from(sqlite_error(rusqlite::ffi::SQLITE_BUSY)),
        ));
        assert_eq!(busy.key(), "store_busy");
        let text = busy.to_string();
        assert!(
            text.starts_with("storage failed: failed to write the batch: "),
            "{text}"
        );
        assert!(
            text.starts_with(
                "storage failed: failed to write the batch: Error code 5: The database file is locked"
            ),
            "{text}"
        );
        // The chain is there for a log or `anyhow`, not flattened into one string.
        let source = std::error::Error::source(&busy).expect("the failure");
        assert!(std::error::Error::source(source).is_some());

        let full = CommandError::Store(StoreFailure::caused(
            "failed to write the batch",
            sqlite_error(rusqlite::ffi::SQLITE_FULL),
        ));
        assert_eq!(full.key(), "store_full");
        let other = CommandError::Store(StoreFailure::msg("the SQLite writer has stopped"));
        assert_eq!(other.key(), "store");
        // What a user reads names neither the cause nor the database.
        for error in [&busy, &full, &other] {
            for lang in [whistle_core::error::Lang::Zh, whistle_core::error::Lang::En] {
                let message = error.message(lang);
                assert!(
                    !message.contains("locked") && !message.contains("SQLite"),
                    "{message}"
                );
            }
        }
        // One failed batch shares one failure among its commands.
        assert_eq!(busy.clone(), busy);
    }

    #[test]
    fn masking() {
        // At most the last four digits of any number format; extensions and short numbers hidden.
        for (number, masked) in [
            ("13812345678", "*******5678"),
            ("62345678", "****5678"),
            ("010-62345678", "***-****5678"),
            ("01062345678", "*******5678"),
            ("(010) 6234 5678", "(***) **** 5678"),
            ("010-62345678-123", "***-****5678-***"),
            ("62345678转123", "****5678转***"),
            ("010 62345678 ext 45", "*** ****5678 ext **"),
            ("+86 138 1234 5678", "+** *** **** 5678"),
            ("12345", "*****"),
            ("1234567", "*******"),
        ] {
            assert_eq!(mask_phone(number), masked, "{number}");
            let shown = masked.chars().filter(char::is_ascii_digit).count();
            assert!(shown <= 4, "{number}: {shown} digits shown");
        }
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        let requester = Requester {
            name: Some("李四".into()),
            phone: Some("13900001111".into()),
            address_detail: None,
        };
        assert_eq!(requester.masked().phone.as_deref(), Some("*******1111"));
        let bad = Requester {
            phone: Some("call me".into()),
            ..Requester::default()
        };
        let error = bad.validate().unwrap_err();
        assert!(!error.to_string().contains("call me"));
    }
}

/// Requests received, from the intake volumes: a day (`YYYY-MM-DD`) or calendar month
/// (`YYYY-MM`), a territory (street, else district, else city) and a category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntakeVolume {
    pub key: String,
    pub territory: String,
    pub category: String,
    pub count: i64,
}

/// Requests received in a time range per request type, channel and urgency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntakeMix {
    pub request_type: String,
    pub channel: String,
    pub urgency: String,
    pub count: i64,
}

/// The orders of one lead unit that became overdue in a range (督办): each order once, however
/// many of its deadlines passed, and how many response and handling deadlines were missed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverdueRow {
    pub unit: Option<String>,
    pub orders: i64,
    pub response_missed: i64,
    pub handling_missed: i64,
}

/// An emergency order received in a range, for the bulletin's list (no personal data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmergencyRow {
    pub no: String,
    pub category: String,
    pub district: Option<String>,
    pub street: Option<String>,
    pub lead_unit: Option<String>,
    pub stage: String,
    pub received_at: Timestamp,
}

/// What repeat detection needs of an order received in a range: its number, time, category,
/// territory, the public part of its address and its requester's phone. The phone never leaves
/// the analysis (it is only compared); reports show order numbers and public addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderKey {
    pub no: String,
    pub received_at: Timestamp,
    pub category: String,
    pub territory: String,
    pub place: Option<String>,
    pub phone: Option<String>,
    pub request_type: String,
    pub channel: String,
    pub urgency: String,
}
