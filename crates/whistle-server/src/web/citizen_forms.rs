//! The citizen's two forms on `/` (no login): **submit** a request (type, category, place by
//! district → street or address, the text, a phone for the reply) — dispatched by the catalogue
//! when the place is known, else waiting in the dispatcher's queue — and **rate** a replied order
//! (the return visit's three questions, recorded as a visit from the web, within the policy's
//! window; dissatisfied with "rework" reopens it, satisfied closes it).
//!
//! The forms carry a double-submit token (an HttpOnly `SameSite=Strict` cookie and a hidden
//! field); submits are limited per address; each rendered form has its own idempotency key.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use whistle_core::catalogue::Territory;
use whistle_core::error::Lang;
use whistle_core::ids::{Actor, CategoryCode, UnitCode};
use whistle_core::order::{
    Channel, Command, Intake, Location, RequestType, Satisfaction, Stage, Triage, VisitResult,
};
use whistle_core::org::UnitKind;
use whistle_store::{Envelope, Idempotency, OrderRef, Request, Requester};

use super::citizen;
use super::format;
use crate::limits::ClientIp;
use crate::AppState;

/// The number of the request this browser has just submitted.
pub const SUBMITTED_COOKIE: &str = "whistle_submitted";

/// The public forms' token cookie.
pub const FORM_COOKIE: &str = "whistle_form";

/// What the citizen typed into the submit form (kept when it is refused).
#[derive(Deserialize, Default, Clone)]
pub struct SubmitForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub request_type: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
}

/// The token of the public forms: the visitor's cookie if it has one, else a new one.
pub fn form_token(headers: &HeaderMap) -> (String, bool) {
    match crate::auth::cookie(headers, FORM_COOKIE).filter(|t| t.len() == 32) {
        Some(token) => (token, false),
        None => (crate::auth::random_hex(16), true),
    }
}

/// Sets the token cookie on a page that shows the forms.
pub fn with_token_cookie(state: &AppState, mut response: Response, token: &str) -> Response {
    let cookie = format!(
        "{FORM_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400{}",
        if state.settings.cookie_secure() {
            "; Secure"
        } else {
            ""
        }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn token_ok(headers: &HeaderMap, given: &str) -> bool {
    let expected = crate::auth::cookie(headers, FORM_COOKIE).unwrap_or_default();
    super::csrf_ok(&expected, &HeaderMap::new(), Some(given))
}

/// The city's dispatch centre: the unit the web's requests and visits are recorded for.
fn centre(state: &AppState) -> Option<UnitCode> {
    let reference = state.store.reference();
    let mut centres: Vec<&UnitCode> = reference
        .directory
        .units()
        .filter(|u| {
            u.kind == UnitKind::DispatchCenter && u.parent.as_ref() == Some(&reference.city)
        })
        .map(|u| &u.code)
        .collect();
    centres.sort();
    centres.first().map(|c| (*c).clone())
}

fn web_actor(state: &AppState) -> Option<Actor> {
    Some(Actor {
        user: "citizen-web".into(),
        unit: centre(state)?,
    })
}

/// The submit form and its photos, from a multipart body (the page's form) or an urlencoded one.
async fn read_submit(
    state: &AppState,
    request: axum::extract::Request,
    lang: Lang,
) -> Result<(SubmitForm, Vec<super::attachments::Upload>), (StatusCode, String)> {
    use axum::extract::FromRequest;
    let malformed = || {
        (
            StatusCode::BAD_REQUEST,
            format::pick(lang, ("表单格式不正确", "the form could not be read")).to_string(),
        )
    };
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(form) = Form::<SubmitForm>::from_request(request, state)
            .await
            .map_err(|_| malformed())?;
        return Ok((form, Vec::new()));
    }
    let multipart = axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|_| malformed())?;
    let (fields, files) =
        super::attachments::read_form(multipart, state.settings.attachment_max_bytes, lang)
            .await
            .map_err(|message| (StatusCode::UNPROCESSABLE_ENTITY, message))?;
    let object = fields
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let form =
        serde_json::from_value(serde_json::Value::Object(object)).map_err(|_| malformed())?;
    Ok((form, files))
}

/// `POST /submit`.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let lang = super::page_language(&headers);
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let (form, photos) = match read_submit(&state, request, lang).await {
        Ok(read) => read,
        Err((status, message)) if status == StatusCode::BAD_REQUEST => {
            return super::failure(status, message, lang)
        }
        Err((status, message)) => {
            // A photo was refused: nothing is stored; the form is shown again (files cannot be
            // put back into a file input, the text can — but a multipart body that failed is
            // not read further, so the page says what to do).
            let mut page = citizen::page(&state, lang);
            page.form_error = Some(("photo", message));
            return citizen::respond(&state, &headers, page, status);
        }
    };
    let refuse = |field: &'static str, message: String, status: StatusCode| {
        let mut page = citizen::page(&state, lang);
        page.form = form.clone();
        page.form_error = Some((field, message));
        page.streets = citizen::streets_of(&state, &form.district);
        citizen::respond(&state, &headers, page, status)
    };
    if !token_ok(&headers, &form.csrf) {
        return refuse(
            "",
            t(
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            ),
            StatusCode::FORBIDDEN,
        );
    }
    let Ok(request_type) = form.request_type.parse::<RequestType>() else {
        return refuse(
            "request_type",
            t("请选择诉求类型", "choose the kind of request"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let reference = state.store.reference();
    let category = CategoryCode::parse(form.category.trim()).ok().filter(|c| {
        reference.taxonomy.get(c).is_some_and(|c| c.public) && reference.taxonomy.is_leaf(c)
    });
    let Some(category) = category else {
        return refuse(
            "category",
            t("请选择问题类别", "choose what it is about"),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let text = form.text.trim();
    if text.chars().count() < 5 {
        return refuse(
            "text",
            t(
                "请描述您的诉求（至少 5 个字）",
                "describe the request (at least 5 characters)",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let digits: String = form.phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7
        || digits.len() > 12
        || form
            .phone
            .trim()
            .chars()
            .any(|c| !(c.is_ascii_digit() || " -+".contains(c)))
    {
        return refuse(
            "phone",
            t(
                "请填写有效的联系电话，以便答复和查询",
                "give a phone number for the reply and for tracking",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let territory_unit = |code: &str, street: bool| {
        UnitCode::parse(code.trim()).ok().filter(|c| {
            reference.directory.get(c).is_some_and(|u| {
                if street {
                    u.kind.is_street_level()
                        && u.parent.as_ref().map(|p| p.as_str()) == Some(form.district.trim())
                } else {
                    u.kind == UnitKind::District
                }
            })
        })
    };
    let district = territory_unit(&form.district, false);
    let street = territory_unit(&form.street, true);
    if (!form.district.trim().is_empty() && district.is_none())
        || (!form.street.trim().is_empty() && street.is_none())
    {
        return refuse(
            "district",
            t(
                "请从列表中选择区和街道（乡镇）",
                "choose the district and street from the lists",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let address = form.address.trim();
    if district.is_none() && address.is_empty() {
        return refuse(
            "district",
            t(
                "请选择所在区或填写地址",
                "choose the district or give the address",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let (Some(actor), true) = (web_actor(&state), form.key.len() == 32) else {
        return refuse(
            "",
            t(
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            ),
            StatusCode::FORBIDDEN,
        );
    };
    let now = state.clock.now().timestamp();
    if let Err(wait) = state.limiter.check(
        crate::limits::CITIZEN_SUBMITS_PER_IP,
        &ip.to_string(),
        state.settings.citizen_submits_per_ip_per_hour,
        now,
    ) {
        let error = crate::api::too_many(wait, lang);
        return refuse("", error.message, error.status);
    }
    let intake = Intake {
        received_at: None,
        channel: Channel::Web,
        request_type,
        text: text.to_string(),
        category,
        urgency: None,
        location: Location {
            territory: Territory {
                district,
                street,
                community: None,
            },
            address: Some(address.to_string()).filter(|a| !a.is_empty()),
            ..Location::default()
        },
        triage: Triage::Dispatch,
    };
    let requester = Requester {
        name: Some(form.name.trim().to_string()).filter(|n| !n.is_empty()),
        phone: Some(digits),
        address_detail: None,
    };
    let photo_hash = photos
        .iter()
        .map(|p| crate::web::attachments::digest(&p.data))
        .collect::<Vec<_>>()
        .join(",");
    let mut hasher = Sha256::new();
    for part in [
        &form.request_type,
        &form.category,
        &form.district,
        &form.street,
        &form.address,
        &form.text,
        &form.phone,
        &photo_hash,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let key = Idempotency {
        principal: actor.user.clone(),
        key: format!("web-submit-{}", form.key),
        request_hash: hex::encode(hasher.finalize()),
    };
    let known_place = intake.location.territory.district.is_some();
    let request = if known_place {
        Request::IntakeAndDispatch {
            intake: Box::new(intake),
            requester: Some(requester),
        }
    } else {
        Request::Intake {
            intake: Box::new(intake),
            requester: Some(requester),
        }
    };
    let envelope = Envelope {
        actor,
        at: state.clock.now(),
        request,
    };
    match state
        .store
        .execute_items(vec![(envelope, Some(key))])
        .await
        .pop()
    {
        Some(Ok(outcome)) => {
            // The photos go with the order once it is stored (checked before, so only a storage
            // failure can part them: then the number is still shown, and the order kept).
            if !outcome.replayed {
                if let Err((_, message)) =
                    super::attachments::store(&state, outcome.order_id, photos, "citizen-web", lang)
                        .await
                {
                    tracing::warn!(order = %outcome.order_no, "a citizen's photo was not stored: {message}");
                }
            }
            // The number is shown once to the browser that submitted it (by its cookie), so a
            // guessed number in the address shows nothing.
            let mut response =
                Redirect::to(&format!("/?submitted={}", outcome.order_no)).into_response();
            let cookie = format!(
                "{SUBMITTED_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age=600",
                outcome.order_no
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Some(Err(error)) => {
            let error = crate::error::ApiError::command(error, lang);
            refuse("", error.message, error.status)
        }
        None => super::failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            t("保存失败，请稍后重试", "not saved: try again later"),
            lang,
        ),
    }
}

#[derive(Deserialize, Default)]
pub struct RateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    no: String,
    #[serde(default)]
    last4: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    contacted: String,
    #[serde(default)]
    resolved: String,
    /// "yes": dissatisfied, and asks for the order to be handled again.
    #[serde(default)]
    rework: String,
}

/// `POST /rate`: the requester's own visit, by the number and the phone's last four digits.
pub async fn rate(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<RateForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = super::page_language(&headers);
    let t = |zh: &str, en: &str| format::pick(lang, (zh, en)).to_string();
    let Ok(Form(form)) = form else {
        return super::failure(
            StatusCode::BAD_REQUEST,
            t("表单格式不正确", "the form could not be read"),
            lang,
        );
    };
    let back = format!(
        "/track?no={}&last4={}",
        super::urlencode(form.no.trim()),
        super::urlencode(form.last4.trim())
    );
    if !token_ok(&headers, &form.csrf) {
        return super::failure(
            StatusCode::FORBIDDEN,
            t(
                "页面已过期，请刷新后重试",
                "the page has expired; reload it and try again",
            ),
            lang,
        );
    }
    let yes = |v: &str| match v {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let (Ok(satisfaction), Some(contacted), Some(resolved)) = (
        form.satisfaction.parse::<Satisfaction>(),
        yes(&form.contacted),
        yes(&form.resolved),
    ) else {
        return citizen::track_page(
            &state,
            &ip.to_string(),
            &headers,
            form.no.trim(),
            form.last4.trim(),
            Some(t("请回答全部三个问题", "answer all three questions")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let order = match crate::api::tracked_order(
        &state,
        &ip.to_string(),
        form.no.trim(),
        form.last4.trim(),
        lang,
    )
    .await
    {
        Ok(order) => order,
        Err(error) => return super::failure(error.status, error.message, lang),
    };
    if !citizen::may_rate(&state, &order) {
        return citizen::track_page(
            &state,
            &ip.to_string(),
            &headers,
            form.no.trim(),
            form.last4.trim(),
            Some(t(
                "该工单现在不能评价（尚未答复，或已超过评价期限）",
                "this order cannot be rated now (not replied, or too late)",
            )),
            StatusCode::CONFLICT,
        )
        .await;
    }
    let Some(actor) = web_actor(&state) else {
        return super::failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            t("保存失败，请稍后重试", "not saved: try again later"),
            lang,
        );
    };
    let mut commands = vec![Command::ReturnVisit {
        result: VisitResult::Valid {
            contacted,
            resolved,
            satisfaction,
        },
    }];
    match (satisfaction, form.rework.as_str()) {
        (Satisfaction::Dissatisfied, "yes") => commands.push(Command::Reopen {
            reason: t(
                "诉求人网上评价不满意，要求重办",
                "the requester, dissatisfied on the web, asked for rework",
            ),
        }),
        (Satisfaction::Dissatisfied, _) => {}
        _ => commands.push(Command::Close {
            note: t("诉求人网上评价", "rated by the requester on the web"),
        }),
    }
    for (i, command) in commands.into_iter().enumerate() {
        let envelope = Envelope {
            actor: actor.clone(),
            at: state.clock.now(),
            request: Request::Command {
                order: OrderRef::Id(order.id),
                expected_version: (i == 0).then_some(order.version),
                command,
            },
        };
        if let Err(error) = state.store.execute_one(envelope).await {
            let error = crate::error::ApiError::command(error, lang);
            return super::failure(error.status, error.message, lang);
        }
    }
    Redirect::to(&back).into_response()
}

/// Whether a stage and time allow the requester's web rating.
pub fn rating_open(
    state: &AppState,
    stage: &Stage,
    replied_at: Option<whistle_core::time::Timestamp>,
) -> bool {
    let reference = state.store.reference();
    matches!(stage, Stage::Replied(_))
        && replied_at.is_some_and(|at| {
            reference
                .calendar
                .deadline(at, reference.policy.web_rating_window)
                .is_ok_and(|d| state.clock.now() <= d.at)
        })
}
