//! One error type for every handler: a status, a stable machine-readable code and a message in
//! the caller's language (Simplified Chinese unless `Accept-Language` asks for English).
//! Domain refusals are 4xx; only infrastructure failures are 5xx, and they carry no detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use whistle_core::error::{DomainError, Lang};
use whistle_store::{CommandError, StoreError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait, sent as `Retry-After` (rate limiting).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(Body {
                error: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, zh: &str, en: &str, lang: Lang) -> ApiError {
        ApiError {
            status,
            code,
            message: if lang == Lang::En {
                en.to_string()
            } else {
                zh.to_string()
            },
            retry_after: None,
        }
    }

    /// The same error with another status (a refused query parameter is a 400, say).
    pub fn status(self, status: StatusCode) -> ApiError {
        ApiError { status, ..self }
    }

    pub fn unauthenticated(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "请先登录或提供有效的令牌",
            "log in or present a valid token",
            lang,
        )
    }

    pub fn forbidden(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "您的角色无权执行此操作",
            "your role may not do this",
            lang,
        )
    }

    /// Also used when the order exists but is outside the caller's jurisdiction: its existence
    /// is not revealed.
    pub fn not_found(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "工单不存在",
            "no such order",
            lang,
        )
    }

    pub fn bad_request(code: &'static str, detail: &str, lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code,
            &format!("请求格式有误：{detail}"),
            &format!("malformed request: {detail}"),
            lang,
        )
    }

    /// A body that could not be read: too large (413) or not a complete body (400).
    pub fn body(rejection: axum::extract::rejection::BytesRejection, lang: Lang) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "请求体过大",
                "request body too large",
                lang,
            )
        } else {
            ApiError::bad_request("invalid_body", "the body could not be read", lang)
        }
    }

    pub fn internal(error: impl std::fmt::Display, lang: Lang) -> ApiError {
        tracing::error!(%error, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试",
            "internal error; try again",
            lang,
        )
    }

    /// A storage failure: logged with its whole cause; the caller learns only whether to retry
    /// (`store_busy`, with `Retry-After`), wait for an operator (`store_full`), or neither.
    pub fn storage(failure: &whistle_store::StoreFailure, lang: Lang) -> ApiError {
        use whistle_store::FailureKind;
        match failure.kind() {
            FailureKind::Busy => {
                tracing::warn!(error = %failure, "storage busy");
                ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "store_busy",
                        "系统繁忙，命令未执行，请稍后重试",
                        "the store is busy; the command was not run, try again",
                        lang,
                    )
                }
            }
            FailureKind::Full => {
                tracing::error!(error = %failure, "storage full");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_full",
                    "存储空间已满，命令未执行，请联系运维人员",
                    "the store is full; the command was not run, ask an operator",
                    lang,
                )
            }
            FailureKind::Other => ApiError::internal(failure, lang),
        }
    }

    pub fn domain(error: &DomainError, lang: Lang) -> ApiError {
        let status = match error {
            DomainError::IllegalTransition { .. }
            | DomainError::DisputePending
            | DomainError::ExtensionPending
            | DomainError::NoPendingDispute
            | DomainError::NoPendingExtension
            | DomainError::AlreadyNotified
            | DomainError::AlreadyRuledUnreasonable
            | DomainError::VisitTooEarly
            | DomainError::TimeBeforeLastEvent => StatusCode::CONFLICT,
            DomainError::NotLeadUnit { .. }
            | DomainError::NotCoHandler(_)
            | DomainError::NotDispatchCenter(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError {
            status,
            code: error.key(),
            message: error.message(lang),
            retry_after: None,
        }
    }

    /// "No such whistle" / "no such grid case": the same 404 as for an order, in its own words.
    pub fn not_found_of(subject: Subject, lang: Lang) -> ApiError {
        match subject {
            Subject::Order => ApiError::not_found(lang),
            _ => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("{}不存在", subject.zh()),
                &format!("no such {}", subject.en()),
                lang,
            ),
        }
    }

    pub fn command(error: CommandError, lang: Lang) -> ApiError {
        ApiError::command_on(error, Subject::Order, lang)
    }

    /// A refused command on an order, a whistle or a grid case, named as what it is.
    pub fn command_on(error: CommandError, subject: Subject, lang: Lang) -> ApiError {
        match error {
            CommandError::Domain(error) => ApiError::domain(&error, lang),
            CommandError::NotFound(_) => ApiError::not_found_of(subject, lang),
            CommandError::Conflict { expected, actual } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                &if expected > actual {
                    format!(
                        "{}还没有第 {expected} 版（当前为第 {actual} 版），请刷新后重试",
                        subject.zh()
                    )
                } else {
                    format!("{}已被他人更新（您看到的是第 {expected} 版，当前为第 {actual} 版），请刷新后重试", subject.zh())
                },
                &if expected > actual {
                    format!("the {} has no version {expected} yet (it is at {actual}); reload and retry", subject.en())
                } else {
                    format!("the {} changed: you saw version {expected}, it is now at {actual}; reload and retry", subject.en())
                },
                lang,
            ),
            CommandError::IdempotencyMismatch => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_mismatch",
                message: error.message(lang),
                retry_after: None,
            },
            CommandError::Store(failure) => ApiError::storage(&failure, lang),
        }
    }

    pub fn store(error: StoreError, lang: Lang) -> ApiError {
        match error {
            StoreError::Domain(error) => ApiError::domain(&error, lang),
            StoreError::Import(text) | StoreError::Config(text) => {
                ApiError::bad_request("invalid_request", &text, lang)
            }
            other => ApiError::internal(other, lang),
        }
    }
}

/// What a command acts on, for its refusals' wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Order,
    Whistle,
    GridCase,
}

impl Subject {
    fn zh(self) -> &'static str {
        match self {
            Subject::Order => "工单",
            Subject::Whistle => "吹哨记录",
            Subject::GridCase => "网格案件",
        }
    }

    fn en(self) -> &'static str {
        match self {
            Subject::Order => "order",
            Subject::Whistle => "whistle",
            Subject::GridCase => "grid case",
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
