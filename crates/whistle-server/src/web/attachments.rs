//! Attachments on the pages: photos and documents uploaded with an order (the citizen's submit
//! form, the order page of anyone working on it), checked before anything is stored — at most
//! the configured size, and only the types recognised from the bytes themselves (JPEG, PNG,
//! WebP, PDF; the browser's claimed type is ignored) — stored content-hashed with the order and
//! shown only to the roles whose scope holds the order. Never public.

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;
use std::sync::Arc;
use whistle_core::error::Lang;
use whistle_store::Added;

use super::format;
use super::{csrf_ok, page_language, signed_in};
use crate::roles::Role;
use crate::AppState;

pub use whistle_store::attachments::digest;

/// Files one form may carry.
pub const FILES_PER_FORM: usize = 3;

/// A file that passed the checks, ready to store.
pub struct Upload {
    pub name: String,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// The type of a file by its first bytes, if it is one Whistle keeps.
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else if data.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// A file name to show: the last path segment, without control characters, at most 80
/// characters (never used as a path).
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(80).collect();
    if cleaned.trim().is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// Checks one file; the message says why it is refused, in the reader's language.
pub fn check(name: &str, data: Vec<u8>, max: usize, lang: Lang) -> Result<Upload, String> {
    if data.len() > max {
        return Err(match lang {
            Lang::Zh => format!("附件不能超过 {} MB", max / (1024 * 1024)),
            Lang::En => format!("an attachment may be at most {} MB", max / (1024 * 1024)),
        });
    }
    let content_type = sniff(&data).ok_or_else(|| {
        format::pick(
            lang,
            (
                "只接受 JPEG、PNG、WebP 图片或 PDF 文件",
                "only JPEG, PNG or WebP images and PDF files are accepted",
            ),
        )
        .to_string()
    })?;
    Ok(Upload {
        name: clean_name(name),
        content_type,
        data,
    })
}

/// A multipart form: its text fields, and its non-empty files (checked). Any refusal — a
/// malformed body, too many files, a file too large or of another type — refuses the form.
pub async fn read_form(
    mut multipart: Multipart,
    max: usize,
    lang: Lang,
) -> Result<(HashMap<String, String>, Vec<Upload>), String> {
    let malformed =
        || format::pick(lang, ("表单格式不正确", "the form could not be read")).to_string();
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(check("", vec![0; max + 1], max, lang)
                    .err()
                    .unwrap_or_else(malformed))
            }
            Err(_) => return Err(malformed()),
        };
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let data = field.bytes().await.map_err(|_| malformed())?;
                if data.is_empty() {
                    continue;
                }
                if files.len() == FILES_PER_FORM {
                    return Err(match lang {
                        Lang::Zh => format!("每次至多上传 {FILES_PER_FORM} 个附件"),
                        Lang::En => format!("at most {FILES_PER_FORM} files at a time"),
                    });
                }
                files.push(check(&file_name, data.to_vec(), max, lang)?);
            }
            None => {
                let text = field.text().await.map_err(|_| malformed())?;
                fields.insert(name, text);
            }
        }
    }
    Ok((fields, files))
}

/// Stores checked files with an order; the message of the first refusal (the order is full).
pub async fn store(
    state: &AppState,
    order: whistle_core::ids::OrderId,
    files: Vec<Upload>,
    by: &str,
    lang: Lang,
) -> Result<(), (StatusCode, String)> {
    for file in files {
        let added = state
            .store
            .add_attachment(
                order,
                whistle_store::NewAttachment {
                    name: file.name,
                    content_type: file.content_type.to_string(),
                    data: file.data,
                    added_by: by.to_string(),
                    at: state.clock.now(),
                },
                state.settings.attachments_per_order,
            )
            .await
            .map_err(|e| {
                let error = crate::error::ApiError::store(e, lang);
                (error.status, error.message)
            })?;
        if let Added::Full { max } = added {
            return Err((
                StatusCode::CONFLICT,
                match lang {
                    Lang::Zh => format!("每件工单至多 {max} 个附件"),
                    Lang::En => format!("an order holds at most {max} attachments"),
                },
            ));
        }
    }
    Ok(())
}

/// Whether a role adds attachments to the orders it sees (leaders only read).
pub fn may_attach(role: Role) -> bool {
    role != Role::Leader
}

/// `POST /ui/orders/{no}/attachments` (multipart: `csrf` and up to three files).
pub async fn upload(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(no): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let here = format!("/ui/orders/{no}");
    let viewer = match signed_in(&state, &headers, &here).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let refuse = |status, message| super::failure(status, message, lang);
    let Ok(multipart) = multipart else {
        return refuse(
            StatusCode::BAD_REQUEST,
            format::pick(lang, ("表单格式不正确", "the form could not be read")).into(),
        );
    };
    let (fields, files) =
        match read_form(multipart, state.settings.attachment_max_bytes, lang).await {
            Ok(form) => form,
            Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message),
        };
    if !csrf_ok(
        &viewer.csrf,
        &headers,
        fields.get("csrf").map(String::as_str),
    ) {
        return refuse(
            StatusCode::FORBIDDEN,
            format::pick(
                lang,
                (
                    "页面已过期，请刷新后重试",
                    "the page has expired; reload it and try again",
                ),
            )
            .into(),
        );
    }
    let order = match crate::api::visible_order(&state, &viewer.principal, &no, lang).await {
        Ok(order) => order,
        Err(error) => return refuse(error.status, error.message),
    };
    if !may_attach(viewer.role) {
        let error = crate::error::ApiError::forbidden(lang);
        return refuse(error.status, error.message);
    }
    if files.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format::pick(lang, ("请选择要上传的文件", "choose a file to upload")).into(),
        );
    }
    match store(&state, order.id, files, &viewer.principal.name, lang).await {
        Ok(()) => Redirect::to(&here).into_response(),
        Err((status, message)) => refuse(status, message),
    }
}

/// `GET /ui/orders/{no}/attachments/{sha256}`: the file, for a viewer whose scope holds the order.
pub async fn download(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((no, sha)): Path<(String, String)>,
) -> Response {
    let here = format!("/ui/orders/{no}");
    let viewer = match signed_in(&state, &headers, &here).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let order = match crate::api::visible_order(&state, &viewer.principal, &no, lang).await {
        Ok(order) => order,
        Err(error) => return super::failure(error.status, error.message, lang),
    };
    let found = if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        state
            .store
            .attachment(order.id, &sha.to_ascii_lowercase())
            .await
    } else {
        Ok(None)
    };
    let (meta, data) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            let error = crate::error::ApiError::not_found(lang);
            return super::failure(error.status, error.message, lang);
        }
        Err(error) => return super::store_failure(error, lang),
    };
    let disposition = if meta.content_type.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    let mut response = data.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&meta.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{disposition}; filename*=UTF-8''{}",
        super::urlencode(&meta.name)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // The bytes never change (named by their hash); they are personal: no shared cache.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    response
}
