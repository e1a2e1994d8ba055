//! `whistle bench pages`: the pages' server times on an existing store (e.g. one with 1,000,000
//! simulated orders). Starts the service in this process on a loopback port, signs in bench
//! accounts through the login form, then requests each page one after another and reports p50
//! and p99 as seen on loopback (the server's time plus a loopback round trip):
//!
//! - the handler's inbox (50 rows of the busiest street), its 临期 tab, and its CSV export;
//! - the dispatcher's queue, the supervisor's overdue board (its summary reads 500 rows);
//! - an order's page;
//! - the intake's hints for a caller with earlier orders (the repeat-caller panel) and for a
//!   street and category (the possible duplicates);
//! - the intake's save (a complaint dispatched by the catalogue; each from a freshly rendered
//!   form, whose fetch is not counted).

use clap::Args;
use std::sync::Arc;
use std::time::{Duration, Instant};
use whistle_core::ids::UnitCode;
use whistle_store::{OrderFilter, PageRequest, Scope, Store};

use crate::{store_failure, Env, Failure};

#[derive(Args)]
pub struct PagesArgs {
    /// Requests per page.
    #[arg(long, default_value_t = 500)]
    runs: usize,
}

const PASSWORD: &str = "bench-pages-password";

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(anyhow::anyhow!("{e}"))
}

fn percentile(latencies: &mut [Duration], p: f64) -> f64 {
    latencies.sort();
    let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
    latencies[index].as_secs_f64() * 1000.0
}

fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..start + body[start..].find('"')?].to_string())
}

/// Signs in through the form; the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, login: &str) -> Result<String, Failure> {
    let page = client
        .get(format!("{base}/ui/login"))
        .send()
        .await
        .map_err(failed)?;
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("whistle_login_csrf="))
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| failed("no login form token"))?
        .to_string();
    let token =
        hidden(&page.text().await.map_err(failed)?, "csrf").ok_or_else(|| failed("no csrf"))?;
    let response = client
        .post(format!("{base}/ui/login"))
        .header("cookie", cookie)
        .form(&[
            ("login", login),
            ("password", PASSWORD),
            ("csrf", &token),
            ("next", "/ui/"),
        ])
        .send()
        .await
        .map_err(failed)?;
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("whistle_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| failed(format!("{login} could not sign in")))
}

/// p50 and p99 in ms, the last answer's size and how many orders it links.
async fn time_gets(
    client: &reqwest::Client,
    url: &str,
    session: &str,
    runs: usize,
) -> Result<(f64, f64, usize, usize), Failure> {
    let mut latencies = Vec::with_capacity(runs);
    let mut bytes = 0;
    let mut rows = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let response = client
            .get(url)
            .header("cookie", session)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let body = response.bytes().await.map_err(failed)?;
        latencies.push(start.elapsed());
        if !status.is_success() {
            return Err(failed(format!("{url}: {status}")));
        }
        bytes = body.len();
        let text = String::from_utf8_lossy(&body);
        rows = text.matches("<td><a href=\"/ui/orders/").count()
            + text.matches("<li><a href=\"/ui/orders/").count()
            + text.lines().count().saturating_sub(1) * usize::from(url.contains("format=csv"));
    }
    Ok((
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
        bytes,
        rows,
    ))
}

/// The prefix of the phones this bench's saves use (139000 and five digits).
const BENCH_PHONES: &str = "139000";
/// How many of the latest orders the street and the caller are chosen from.
const SAMPLE: usize = 5000;
/// A word in the text of every order this bench saves.
const BENCH_TEXT: &str = "压测";

pub async fn run(env: &Env, args: PagesArgs) -> Result<(), Failure> {
    let store: Arc<dyn Store> = env.open().await?;
    let (orders, _) = store
        .totals()
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    // The latest orders before any an earlier run of this bench saved (their text says 压测).
    let first_saved = store
        .list_orders(
            &Scope::All,
            &OrderFilter {
                text: Some(BENCH_TEXT.into()),
                oldest_first: true,
                ..OrderFilter::default()
            },
            &PageRequest {
                after: None,
                limit: 1,
            },
        )
        .await
        .map_err(|e| store_failure(e, env.lang))?
        .items
        .first()
        .map(|o| o.received_at);
    // The latest 5,000 orders: enough for the busiest street among them to be one of the
    // city's busiest (the inbox at its fullest).
    let mut latest = Vec::new();
    let mut after = None;
    while latest.len() < SAMPLE {
        let page = store
            .list_orders(
                &Scope::All,
                &OrderFilter {
                    received_before: first_saved,
                    ..OrderFilter::default()
                },
                &PageRequest { after, limit: 1000 },
            )
            .await
            .map_err(|e| store_failure(e, env.lang))?;
        latest.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    // The busiest street among the latest orders, and a caller with earlier orders — leaving
    // out the orders an earlier run of this bench saved (phones 139000…), so that every run on
    // the same database measures the same street and caller.
    let mut counts = std::collections::HashMap::new();
    let mut phone = None;
    let mut no = None;
    for order in &latest {
        let found = store
            .requester(order.id)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.phone);
        if found
            .as_deref()
            .is_some_and(|p| p.starts_with(BENCH_PHONES))
        {
            continue;
        }
        if let Some(street) = &order.street {
            *counts.entry(street.clone()).or_insert(0) += 1;
        }
        if phone.is_none() {
            phone = found;
        }
        no.get_or_insert_with(|| order.no.to_string());
    }
    let street = counts
        .into_iter()
        .max_by_key(|(street, n)| (*n, street.clone()))
        .map(|(street, _)| street)
        .unwrap_or_else(|| "110105010".into());
    let phone = phone.unwrap_or_else(|| "13800001234".into());
    let no = no.ok_or_else(|| failed("the store holds no orders"))?;
    let hash = whistle_server::auth::hash_password(PASSWORD).map_err(failed)?;
    let now = chrono::Utc::now();
    for (login, role, unit) in [
        ("bench-operator", "operator", "11.center".to_string()),
        ("bench-dispatcher", "dispatcher", "11.center".to_string()),
        ("bench-supervisor", "supervisor", "11.center".to_string()),
        ("bench-street", "handler", street.clone()),
        ("bench-visit", "visit_agent", "11.center".to_string()),
    ] {
        let account = whistle_store::Account {
            login: login.into(),
            display_name: login.into(),
            role: role.into(),
            unit: UnitCode::parse(&unit).map_err(failed)?,
            active: true,
            other_roles: Vec::new(),
        };
        store
            .put_user(&account, &hash, now)
            .await
            .map_err(|e| store_failure(e, env.lang))?;
    }
    let mut settings = whistle_server::ServerSettings::default();
    settings.worker.enabled = false;
    settings.login_failures_per_ip = 1_000_000;
    settings.access_log = "off".into();
    let state = whistle_server::AppState::new(
        store.clone(),
        settings,
        Arc::new(whistle_server::SystemClock),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(failed)?;
    let base = format!("http://{}", listener.local_addr().map_err(failed)?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(whistle_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(failed)?;
    let operator = sign_in(&client, &base, "bench-operator").await?;
    let dispatcher = sign_in(&client, &base, "bench-dispatcher").await?;
    let supervisor = sign_in(&client, &base, "bench-supervisor").await?;
    let handler = sign_in(&client, &base, "bench-street").await?;
    let visit = sign_in(&client, &base, "bench-visit").await?;
    println!(
        "pages at {orders} orders (street {street}), {} requests each, one after another:",
        args.runs
    );
    println!(
        "{:<48} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "bytes"
    );
    let pages = [
        (
            "inbox, all (50 rows)",
            "/ui/inbox?tab=all".to_string(),
            &handler,
        ),
        ("inbox, 临期", "/ui/inbox?tab=soon".to_string(), &handler),
        ("inbox, 重办", "/ui/inbox?tab=rework".to_string(), &handler),
        (
            "inbox, 协办待反馈",
            "/ui/inbox?tab=parts".to_string(),
            &handler,
        ),
        (
            "inbox, 超期三倍",
            "/ui/inbox?tab=all&punctuality=thrice".to_string(),
            &handler,
        ),
        (
            "inbox, 承办人 未指派",
            "/ui/inbox?tab=all&assignee=none".to_string(),
            &handler,
        ),
        (
            "inbox, 承办人 指派给我的",
            "/ui/inbox?tab=all&assignee=me".to_string(),
            &handler,
        ),
        (
            "inbox, CSV export (50 rows)",
            "/ui/inbox?tab=all&format=csv".to_string(),
            &handler,
        ),
        (
            "dispatch queue (50 rows + tab counts)",
            "/ui/dispatch".to_string(),
            &dispatcher,
        ),
        (
            "supervision, overdue (summary over 500)",
            "/ui/supervision?tab=overdue".to_string(),
            &supervisor,
        ),
        ("order page", format!("/ui/orders/{no}"), &supervisor),
        (
            "visit desk (current + 20 waiting + shift counts)",
            "/ui/visits".to_string(),
            &visit,
        ),
        (
            "intake hints (repeat caller + duplicates)",
            format!("/ui/intake/hints?phone={phone}&street={street}&category=11.04.01"),
            &operator,
        ),
    ];
    for (name, path, session) in pages {
        let (p50, p99, bytes, rows) =
            time_gets(&client, &format!("{base}{path}"), session, args.runs).await?;
        println!("{name:<48} {p50:>9.2} {p99:>9.2} {bytes:>9} {rows:>6}");
    }
    // The intake's save: a fresh form each time (not timed), then its POST (timed).
    let mut latencies = Vec::with_capacity(args.runs);
    for i in 0..args.runs {
        let form = client
            .get(format!("{base}/ui/intake"))
            .header("cookie", &operator)
            .send()
            .await
            .map_err(failed)?
            .text()
            .await
            .map_err(failed)?;
        let csrf = hidden(&form, "csrf").ok_or_else(|| failed("no csrf on the intake form"))?;
        let key = hidden(&form, "key").ok_or_else(|| failed("no key on the intake form"))?;
        let text = format!("小区门口占道经营，影响通行（{BENCH_TEXT} {i}）");
        let phone = format!("{BENCH_PHONES}{:05}", i);
        let fields = [
            ("csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("phone", phone.as_str()),
            ("channel", "phone"),
            ("text", text.as_str()),
            ("district", "110105"),
            ("street", "110105010"),
            ("request_type", "complaint"),
            ("category", "11.04.01"),
            ("disposition", "dispatch"),
        ];
        let start = Instant::now();
        let response = client
            .post(format!("{base}/ui/intake"))
            .header("cookie", &operator)
            .form(&fields)
            .send()
            .await
            .map_err(failed)?;
        latencies.push(start.elapsed());
        if response.status() != reqwest::StatusCode::SEE_OTHER {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let alert = body
                .find("role=\"alert\"")
                .map(|i| &body[i..(i + 300).min(body.len())])
                .unwrap_or("");
            return Err(failed(format!("intake save: {status} {alert}")));
        }
    }
    println!(
        "{:<48} {:>9.2} {:>9.2}",
        "intake save (POST, dispatched by the catalogue)",
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99)
    );
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}
