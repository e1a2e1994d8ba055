//! 受理台: the operator's intake page. One form in tab order — caller number (from `?ani=` when
//! a telephony system opens the page), channel, name, 诉求内容, place (district → street →
//! community, the lists loaded by htmx as the choice above changes; the address as text), type,
//! category (typeahead over code and name), urgency and the disposition — saved and dispatched
//! by the catalogue in one command, or closed at once under one of the statutory dispositions
//! (Regulation art. 11). After saving, the number in large type to read to the caller and the
//! focus back on the number field; a refused save keeps everything typed and marks the field.
//! Each rendered form carries its own idempotency key: a double submit stores one order.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use whistle_core::catalogue::Territory;
use whistle_core::error::Lang;
use whistle_core::ids::{CategoryCode, OrderNo, UnitCode};
use whistle_core::order::{Channel, EmergencyService, Intake, Location, RequestType, Triage};
use whistle_core::org::UnitKind;
use whistle_core::taxonomy::Urgency;
use whistle_store::{Envelope, Idempotency, Request, Requester};

use super::format::{self, Deadline, Names};
use super::{chrome, csrf_ok, page_language, signed_in, Chrome, Viewer};
use crate::AppState;

/// The city's code, the root of the territories.
const CITY: &str = "11";

/// The dispositions the form offers, in the order of art. 11, with their labels.
const DISPOSITIONS: [(&str, &str, &str); 8] = [
    ("dispatch", "派单办理", "dispatch"),
    ("answer_now", "即时答复", "answered now"),
    (
        "transfer_emergency",
        "转 110/119/120/122",
        "transferred to 110/119/120/122",
    ),
    ("proper_channel", "其他法定途径", "another legal channel"),
    ("repeat_no_new", "重复诉求", "repeat, nothing new"),
    ("secret_or_privacy", "涉密/隐私", "secret or privacy"),
    (
        "out_of_scope",
        "不属受理范围",
        "outside the hotline's scope",
    ),
    ("illegal_demand", "违法诉求", "illegal demand"),
];

/// What the operator typed (kept as text, so a refused save shows it again exactly).
#[derive(Deserialize, Default, Clone)]
pub struct IntakeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    community: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    request_type: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    disposition: String,
    /// The answer, explanation or channel a disposition other than dispatch records.
    #[serde(default)]
    answer: String,
    /// The earlier order of a repeat.
    #[serde(default)]
    earlier: String,
    /// 110, 119, 120 or 122.
    #[serde(default)]
    service: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

/// The order just saved, as shown to read to the caller.
pub struct Saved {
    pub no: String,
    pub outcome: String,
    pub deadline: Option<Deadline>,
}

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    chrome: Chrome,
    form: IntakeForm,
    errors: BTreeMap<&'static str, String>,
    alert: Option<String>,
    saved: Option<Saved>,
    channels: Vec<Choice>,
    types: Vec<Choice>,
    urgencies: Vec<Choice>,
    dispositions: Vec<Choice>,
    districts: Vec<Choice>,
    streets: Vec<Choice>,
    communities: Vec<Choice>,
    categories: Vec<Choice>,
}

impl IntakePage {
    fn error(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }

    fn invalid(&self, field: &str) -> bool {
        self.errors.contains_key(field)
    }
}

#[derive(Deserialize, Default)]
pub struct IntakeQuery {
    /// The caller's number, from the telephony system.
    #[serde(default)]
    ani: String,
    /// The order just saved.
    #[serde(default)]
    saved: String,
}

pub(super) async fn operator(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<Viewer, Response> {
    let viewer = signed_in(state, headers, here).await?;
    if !viewer.role.may_intake() {
        let lang = page_language(headers);
        return Err(super::failure(
            StatusCode::FORBIDDEN,
            format::pick(
                lang,
                ("受理台仅供接线员使用", "the intake desk is for operators"),
            )
            .into(),
            lang,
        ));
    }
    Ok(viewer)
}

/// `GET /ui/intake[?ani=…][&saved=NO]`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<IntakeQuery>,
) -> Response {
    let viewer = match operator(&state, &headers, "/ui/intake").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let saved = match OrderNo::parse(query.saved.trim()) {
        Ok(no) => saved(&state, &viewer, &no, lang).await,
        Err(_) => None,
    };
    let form = IntakeForm {
        phone: query
            .ani
            .chars()
            .filter(|c| c.is_ascii_digit())
            .take(20)
            .collect(),
        ..IntakeForm::default()
    };
    render(
        &state,
        &viewer,
        lang,
        form,
        BTreeMap::new(),
        None,
        saved,
        StatusCode::OK,
    )
}

async fn saved(state: &AppState, viewer: &Viewer, no: &OrderNo, lang: Lang) -> Option<Saved> {
    let order = crate::api::visible_order(state, &viewer.principal, no.as_str(), lang)
        .await
        .ok()?;
    let reference = state.store.reference();
    let names = Names {
        reference: &reference,
        lang,
    };
    let outcome = match order.lead() {
        Some(lead) => format!("{}：{}", names.stage(&order.stage), names.unit(lead)),
        None => names.stage(&order.stage),
    };
    Some(Saved {
        no: order.no.to_string(),
        outcome,
        deadline: order.handle_by.map(|at| {
            let label = format::pick(lang, ("办理时限", "Handle by"));
            Deadline::new(&reference, label, at, state.clock.now(), lang)
        }),
    })
}

#[allow(clippy::too_many_arguments)]
fn render(
    state: &AppState,
    viewer: &Viewer,
    lang: Lang,
    mut form: IntakeForm,
    errors: BTreeMap<&'static str, String>,
    alert: Option<String>,
    saved: Option<Saved>,
    status: StatusCode,
) -> Response {
    let reference = state.store.reference();
    let pick = |labels: (&str, &str)| format::pick(lang, labels).to_string();
    let choice = |value: &str, label: String| Choice {
        value: value.to_string(),
        label,
    };
    if form.key.is_empty() || saved.is_some() {
        form.key = crate::auth::random_hex(16);
    }
    let districts = UnitCode::parse(CITY)
        .map(|city| territory_choices(state, &city, lang))
        .unwrap_or_default();
    let streets = UnitCode::parse(&form.district)
        .map(|d| territory_choices(state, &d, lang))
        .unwrap_or_default();
    let communities = UnitCode::parse(&form.street)
        .map(|s| territory_choices(state, &s, lang))
        .unwrap_or_default();
    let categories = reference
        .taxonomy
        .iter()
        .filter(|c| reference.taxonomy.is_leaf(&c.code))
        .map(|c| {
            let name = match lang {
                Lang::Zh => &c.name_zh,
                Lang::En => &c.name_en,
            };
            choice(&format!("{} {name}", c.code), String::new())
        })
        .collect();
    let page = IntakePage {
        chrome: chrome(
            state,
            Some(viewer),
            lang,
            pick(("受理台", "Intake")).as_str(),
            "/ui/intake",
        ),
        form,
        errors,
        alert,
        saved,
        channels: [
            Channel::Phone,
            Channel::Web,
            Channel::App,
            Channel::Wechat,
            Channel::Weibo,
        ]
        .into_iter()
        .map(|c| choice(c.as_str(), pick(c.labels())))
        .collect(),
        types: RequestType::ALL
            .into_iter()
            .map(|t| choice(t.as_str(), pick(t.labels())))
            .collect(),
        urgencies: [
            ("", ("按类别默认", "the category's default")),
            ("normal", ("一般", "normal")),
            ("urgent", ("紧急", "urgent")),
            (
                "emergency",
                (
                    "特急（危及生命财产）",
                    "emergency (life or property at risk)",
                ),
            ),
        ]
        .into_iter()
        .map(|(value, labels)| choice(value, pick(labels)))
        .collect(),
        dispositions: DISPOSITIONS
            .iter()
            .map(|(value, zh, en)| choice(value, pick((zh, en))))
            .collect(),
        districts,
        streets,
        communities,
        categories,
    };
    super::render(&page, status)
}

/// The territories under one (districts of the city, streets of a district, communities of a
/// street), by name.
fn territory_choices(state: &AppState, parent: &UnitCode, _lang: Lang) -> Vec<Choice> {
    let reference = state.store.reference();
    reference
        .directory
        .children(parent)
        .iter()
        .filter_map(|code| reference.directory.get(code))
        .filter(|unit| {
            let kind = unit.kind;
            (kind == UnitKind::District || kind.is_street_level() || kind.is_community_level())
                && unit.merged_into.is_none()
        })
        .map(|unit| Choice {
            value: unit.code.to_string(),
            label: unit.name.clone(),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct PlaceQuery {
    #[serde(default)]
    district: String,
    #[serde(default)]
    street: String,
}

/// `GET /ui/intake/streets?district=…` and `/ui/intake/communities?street=…`: the options of the
/// next list down (htmx swaps them in).
pub async fn streets(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<PlaceQuery>,
) -> Response {
    options(&state, &headers, &query.district).await
}

pub async fn communities(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<PlaceQuery>,
) -> Response {
    options(&state, &headers, &query.street).await
}

async fn options(state: &AppState, headers: &HeaderMap, parent: &str) -> Response {
    if let Err(response) = operator(state, headers, "/ui/intake").await {
        return response;
    }
    let lang = page_language(headers);
    let mut html = format!(
        "<option value=\"\">{}</option>",
        format::pick(lang, ("（请选择）", "(choose)"))
    );
    if let Ok(parent) = UnitCode::parse(parent) {
        for choice in territory_choices(state, &parent, lang) {
            html.push_str(&format!(
                "<option value=\"{}\">{}</option>",
                format::escape(&choice.value),
                format::escape(&choice.label)
            ));
        }
    }
    Html(html).into_response()
}

/// `POST /ui/intake`: validates, saves (and dispatches), then shows the number to read out.
pub async fn save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<IntakeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let viewer = match operator(&state, &headers, "/ui/intake").await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let lang = page_language(&headers);
    let pick = |labels: (&str, &str)| format::pick(lang, labels).to_string();
    let Ok(Form(form)) = form else {
        let alert = pick((
            "表单格式不正确，请重新填写",
            "the form could not be read; fill it in again",
        ));
        return render(
            &state,
            &viewer,
            lang,
            IntakeForm::default(),
            BTreeMap::new(),
            Some(alert),
            None,
            StatusCode::BAD_REQUEST,
        );
    };
    if !csrf_ok(&viewer.csrf, &headers, Some(&form.csrf)) {
        let alert = pick((
            "页面已过期，请刷新后重新提交（已填写的内容仍在）",
            "the page has expired: submit again (what you typed is kept)",
        ));
        return render(
            &state,
            &viewer,
            lang,
            form,
            BTreeMap::new(),
            Some(alert),
            None,
            StatusCode::FORBIDDEN,
        );
    }
    let (intake, requester, errors) = read(&state, &form, lang);
    if !errors.is_empty() {
        return render(
            &state,
            &viewer,
            lang,
            form,
            errors,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let (Some(intake), requester) = (intake, requester) else {
        return render(
            &state,
            &viewer,
            lang,
            form,
            errors,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let dispatch = intake.triage == Triage::Dispatch;
    let mut hasher = Sha256::new();
    for part in [
        &form.phone,
        &form.name,
        &form.text,
        &form.street,
        &form.category,
        &form.disposition,
        &form.answer,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let key = Idempotency {
        principal: viewer.principal.name.clone(),
        key: format!("ui-intake-{}", form.key),
        request_hash: hex::encode(hasher.finalize()),
    };
    let request = if dispatch {
        Request::IntakeAndDispatch {
            intake: Box::new(intake),
            requester,
        }
    } else {
        Request::Intake {
            intake: Box::new(intake),
            requester,
        }
    };
    let envelope = Envelope {
        actor: viewer.principal.actor(),
        at: state.clock.now(),
        request,
    };
    let result = state
        .store
        .execute_items(vec![(envelope, Some(key))])
        .await
        .pop();
    match result {
        Some(Ok(outcome)) => {
            Redirect::to(&format!("/ui/intake?saved={}", outcome.order_no)).into_response()
        }
        Some(Err(error)) => {
            let error = crate::error::ApiError::command(error, lang);
            let status = error.status;
            render(
                &state,
                &viewer,
                lang,
                form,
                BTreeMap::new(),
                Some(error.message),
                None,
                status,
            )
        }
        None => render(
            &state,
            &viewer,
            lang,
            form,
            BTreeMap::new(),
            Some(pick(("保存失败，请重试", "saving failed; try again"))),
            None,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

/// The form as an intake, or the fields that are wrong (each with what to do, in the
/// operator's language).
fn read(
    state: &AppState,
    form: &IntakeForm,
    lang: Lang,
) -> (
    Option<Intake>,
    Option<Requester>,
    BTreeMap<&'static str, String>,
) {
    let reference = state.store.reference();
    let pick = |labels: (&str, &str)| format::pick(lang, labels).to_string();
    let mut errors = BTreeMap::new();
    let text = form.text.trim();
    if text.is_empty() {
        errors.insert(
            "text",
            pick(("请填写诉求内容", "write what the caller asks")),
        );
    } else if text.chars().count() > 4000 {
        errors.insert(
            "text",
            pick(("诉求内容不超过 4000 字", "at most 4,000 characters")),
        );
    }
    let phone: String = form
        .phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let requester = Requester {
        name: Some(form.name.trim().to_string()).filter(|n| !n.is_empty()),
        phone: Some(phone).filter(|p| !p.is_empty()),
        address_detail: None,
    };
    if requester.validate().is_err() {
        errors.insert(
            "phone",
            pick(("电话号码应为 5–20 位数字", "the number must be 5–20 digits")),
        );
    }
    let category_code = form.category.split_whitespace().next().unwrap_or("");
    let category = CategoryCode::parse(category_code)
        .ok()
        .filter(|c| reference.taxonomy.get(c).is_some() && reference.taxonomy.is_leaf(c));
    if category.is_none() {
        errors.insert(
            "category",
            pick((
                "请从列表中选择一个末级类别（可输入名称或代码）",
                "choose a leaf category from the list (type a name or a code)",
            )),
        );
    }
    let unit = |text: &str, field: &'static str, errors: &mut BTreeMap<&'static str, String>| {
        if text.trim().is_empty() {
            return None;
        }
        match UnitCode::parse(text.trim())
            .ok()
            .filter(|c| reference.directory.get(c).is_some())
        {
            Some(code) => Some(code),
            None => {
                errors.insert(field, pick(("请从列表中选择", "choose from the list")));
                None
            }
        }
    };
    let district = unit(&form.district, "district", &mut errors);
    let street = unit(&form.street, "street", &mut errors);
    let community = unit(&form.community, "community", &mut errors);
    let request_type = form
        .request_type
        .parse::<RequestType>()
        .unwrap_or(RequestType::Complaint);
    let channel = form.channel.parse::<Channel>().unwrap_or(Channel::Phone);
    let urgency = match form.urgency.as_str() {
        "" => None,
        other => other.parse::<Urgency>().ok(),
    };
    let answer = form.answer.trim().to_string();
    let need_answer = |errors: &mut BTreeMap<&'static str, String>| {
        if answer.is_empty() {
            errors.insert(
                "answer",
                pick(("请写明答复或说明", "write the answer or explanation")),
            );
        }
    };
    let triage = match form.disposition.as_str() {
        "" | "dispatch" => {
            if street.is_none() && district.is_none() && form.address.trim().is_empty() {
                errors.insert("street", pick(("派单需要地点：请选择区和街乡镇，或填写地址", "dispatch needs a place: choose the district and street, or write the address")));
            }
            Triage::Dispatch
        }
        "answer_now" => {
            need_answer(&mut errors);
            Triage::AnswerNow {
                answer: answer.clone(),
            }
        }
        "transfer_emergency" => Triage::TransferEmergency {
            service: match form.service.as_str() {
                "119" => EmergencyService::Fire,
                "120" => EmergencyService::Ambulance,
                "122" => EmergencyService::Traffic,
                _ => EmergencyService::Police,
            },
        },
        "proper_channel" => {
            need_answer(&mut errors);
            Triage::ProperChannel {
                channel: answer.clone(),
            }
        }
        "repeat_no_new" => match OrderNo::parse(form.earlier.trim()) {
            Ok(earlier) => Triage::RepeatNoNew { earlier },
            Err(_) => {
                errors.insert(
                    "earlier",
                    pick((
                        "请填写原工单号，如 20261201-000123",
                        "give the earlier order's number, e.g. 20261201-000123",
                    )),
                );
                Triage::Dispatch
            }
        },
        "secret_or_privacy" => {
            need_answer(&mut errors);
            Triage::SecretOrPrivacy {
                explanation: answer.clone(),
            }
        }
        "out_of_scope" => {
            need_answer(&mut errors);
            Triage::OutOfScope {
                referred_to: answer.clone(),
            }
        }
        "illegal_demand" => {
            need_answer(&mut errors);
            Triage::IllegalDemand {
                explanation: answer.clone(),
            }
        }
        _ => {
            errors.insert(
                "disposition",
                pick(("请选择处理方式", "choose a disposition")),
            );
            Triage::Dispatch
        }
    };
    let (Some(category), true) = (category, errors.is_empty()) else {
        return (None, None, errors);
    };
    let intake = Intake {
        received_at: None,
        channel,
        request_type,
        text: text.to_string(),
        category,
        urgency,
        location: Location {
            territory: Territory {
                district,
                street,
                community,
            },
            address: Some(form.address.trim().to_string()).filter(|a| !a.is_empty()),
            ..Location::default()
        },
        triage,
    };
    let requester = (requester.name.is_some() || requester.phone.is_some()).then_some(requester);
    (Some(intake), requester, errors)
}
