//! `whistle serve`, `whistle demo`, `whistle user …`, `whistle token …`.

use clap::{Args, Subcommand};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use whistle_core::ids::UnitCode;
use whistle_server::auth::{hash_password, new_token};
use whistle_server::roles::Role;
use whistle_store::{Account, Store};

use crate::config::Settings;
use crate::{store_failure, Env, Failure};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides `[server] listen`).
    #[arg(long)]
    listen: Option<String>,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo database lives; it is created afresh.
    #[arg(long, default_value = "whistle-demo")]
    data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Sample orders to create (the last two weeks, in every stage of the life).
    #[arg(long, default_value_t = 300)]
    orders: usize,
    /// Requests per weekday of the simulated month before them (the 31 days ending a week ago,
    /// through the engine, seed 7): what the evaluation, bulletins and analyses show. 0: none.
    #[arg(long, default_value_t = 400)]
    simulated_per_day: u32,
    /// Start the clock at this Beijing time (`2026-12-01 09:00`) instead of now; it runs on from
    /// there. For screenshots and browser tests that must show the same dates on every run.
    #[arg(long)]
    clock: Option<String>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create or update an account. The password comes from WHISTLE_PASSWORD or standard input.
    Add {
        login: String,
        /// operator, dispatcher, handler, visit_agent, supervisor, leader, admin, street_official,
        /// department_liaison, district_coordinator, grid_worker, lane_chief, lane_steward
        #[arg(long)]
        role: String,
        /// The unit the person works for (a dispatch centre, a handling unit, a territory …).
        #[arg(long)]
        unit: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Create or update accounts from a CSV `login,role,unit,name` (all or none); prints each
    /// account's random initial password once.
    Import { file: PathBuf },
    /// Give an account a further role at a unit (a shift leader who supervises and dispatches);
    /// the person switches between roles at the top right of the pages.
    Grant {
        login: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        unit: String,
    },
    /// Take a further role away (sessions acting in it fall back to the first role).
    Ungrant {
        login: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        unit: String,
    },
    /// List accounts.
    List,
    /// Deactivate an account.
    Disable { login: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an integration token; prints it alone on stdout (it is not stored and cannot be shown again).
    Create {
        #[arg(long)]
        name: String,
        /// `open311` for third-party 311 clients, or a role name for an API integration.
        #[arg(long)]
        scope: String,
        #[arg(long, default_value = "11.center")]
        unit: String,
    },
    /// Revoke a token by its id (the part after `wht_`).
    Revoke { id: String },
}

fn refused(text: impl Into<String>) -> Failure {
    Failure::Refused(text.into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub async fn serve(env: &Env, settings: &Settings, args: ServeArgs) -> Result<(), Failure> {
    let store = env.open().await?;
    let mut server = settings.server.clone();
    if let Some(listen) = args.listen {
        server.listen = listen;
    }
    run_server(store, server, None, Arc::new(whistle_server::SystemClock)).await
}

async fn run_server(
    store: Arc<dyn Store>,
    server: whistle_server::ServerSettings,
    banner: Option<String>,
    clock: Arc<dyn whistle_server::Clock>,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(&server.listen)
        .await
        .map_err(|e| {
            crate::refuse(
                format!(
                    "无法在 {} 上监听：{e}（端口可能已被占用：用 --listen 127.0.0.1:其他端口，或 :0 自动选择）",
                    server.listen
                ),
                format!(
                    "cannot listen on {}: {e} (the port may be in use: pick another with --listen 127.0.0.1:PORT, or :0 for any)",
                    server.listen
                ),
            )
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::Failed(e.into()))?;
    let state = whistle_server::AppState::new(store, server, clock);
    let worker = whistle_server::worker::spawn(state.clone());
    out!("whistle listening on http://{address}");
    if let Some(banner) = banner {
        out!("{}", banner.replace("{address}", &address.to_string()));
    }
    whistle_server::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| Failure::Failed(e.into()))?;
    worker.abort();
    Ok(())
}

fn password() -> Result<String, Failure> {
    if let Ok(password) = std::env::var("WHISTLE_PASSWORD") {
        return Ok(password);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::Failed(e.into()))?;
    let password = text.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 8 {
        return Err(crate::refuse(
            "密码至少 8 个字符（从标准输入或 WHISTLE_PASSWORD 给出）",
            "the password must have at least 8 characters (give it on stdin or in WHISTLE_PASSWORD)",
        ));
    }
    Ok(password)
}

/// Checks an account before anything is written: a valid login, a known active unit, and a
/// role that fits the unit's kind (a street official at a street, a lane chief at a lane …).
fn checked_account(
    reference: &whistle_core::reference::Reference,
    login: &str,
    role: Role,
    unit: &UnitCode,
    name: &str,
) -> Result<Account, Failure> {
    if login.is_empty()
        || login.len() > 64
        || !login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        return Err(crate::refuse(
            "登录名只能由字母、数字和 - _ . @ 组成",
            "invalid login: use letters, digits and - _ . @",
        ));
    }
    let found = reference.directory.require(unit).map_err(|e| {
        refused(format!(
            "[{}] {}",
            e.key(),
            e.message(crate::process_lang())
        ))
    })?;
    if found.status != whistle_core::org::UnitStatus::Active {
        return Err(crate::refuse(
            format!("单位 {unit} 已撤销"),
            format!("unit {unit} is retired"),
        ));
    }
    if !role.fits(found.kind) {
        return Err(crate::refuse(
            format!(
                "{}（{}）不能属于{}{unit}",
                role.label_zh(),
                role.as_str(),
                found.kind.label_zh()
            ),
            format!(
                "a {} cannot belong to {unit}, a {}",
                role.as_str(),
                found.kind
            ),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(crate::refuse(
            format!("{login} 的姓名有误"),
            format!("invalid display name for {login}"),
        ));
    }
    Ok(Account {
        login: login.to_string(),
        display_name: name.to_string(),
        role: role.as_str().to_string(),
        unit: unit.clone(),
        active: true,
        other_roles: Vec::new(),
    })
}

/// Gives an account a further role (checked like an account's first role), or takes one away.
async fn change_grant(
    store: &dyn Store,
    login: &str,
    role: Role,
    unit: &UnitCode,
    give: bool,
) -> Result<(), Failure> {
    let (mut account, hash) = store
        .user(login)
        .await
        .map_err(|e| store_failure(e, whistle_core::error::Lang::Zh))?
        .ok_or_else(|| crate::refuse("没有该账号", "no such account"))?;
    let grant = whistle_store::Grant {
        role: role.as_str().to_string(),
        unit: unit.clone(),
    };
    if give {
        checked_account(&store.reference(), login, role, unit, &account.display_name)?;
        if account.holds(&grant) {
            return Err(crate::refuse(
                format!("{login} 已有该角色"),
                format!("{login} holds that role already"),
            ));
        }
        account.other_roles.push(grant);
    } else {
        if !account.other_roles.contains(&grant) {
            return Err(crate::refuse(
                format!("{login} 没有这个附加角色（第一角色用 user add 修改）"),
                format!("{login} holds no such further role (change the first role with user add)"),
            ));
        }
        account.other_roles.retain(|g| *g != grant);
    }
    store
        .put_user(&account, &hash, chrono::Utc::now())
        .await
        .map_err(|e| store_failure(e, whistle_core::error::Lang::Zh))
}

async fn add_user(
    store: &dyn Store,
    login: &str,
    role: Role,
    unit: &UnitCode,
    name: &str,
    password: &str,
) -> Result<(), Failure> {
    let account = checked_account(&store.reference(), login, role, unit, name)?;
    let hash = hash_password(password).map_err(Failure::Failed)?;
    store
        .put_user(&account, &hash, chrono::Utc::now())
        .await
        .map_err(|e| store_failure(e, whistle_core::error::Lang::Zh))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRow {
    login: String,
    role: String,
    unit: String,
    #[serde(default)]
    name: String,
}

/// Bulk accounts from a CSV `login,role,unit,name` — e.g. a street's grid workers, lane chiefs
/// and lane stewards. Every row is checked first; then all are written in one transaction, each
/// with a random initial password printed once as `login,password`.
async fn import_users(store: &dyn Store, path: &std::path::Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        crate::refuse(
            format!("无法读取 {}：{e}", path.display()),
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let reference = store.reference();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut accounts = Vec::new();
    let mut logins = std::collections::BTreeSet::new();
    for (index, row) in reader.deserialize::<UserRow>().enumerate() {
        let line = index + 2;
        let row = row.map_err(|e| {
            crate::refuse(format!("第 {line} 行：{e}"), format!("line {line}: {e}"))
        })?;
        let role = parse_role(row.role.trim()).map_err(|e| match e {
            Failure::Refused(text) => crate::refuse(
                format!("第 {line} 行：{text}"),
                format!("line {line}: {text}"),
            ),
            other => other,
        })?;
        let unit = parse_unit(row.unit.trim())?;
        let name = if row.name.trim().is_empty() {
            row.login.trim()
        } else {
            row.name.trim()
        };
        let account = checked_account(&reference, row.login.trim(), role, &unit, name).map_err(
            |e| match e {
                Failure::Refused(text) => crate::refuse(
                    format!("第 {line} 行：{text}"),
                    format!("line {line}: {text}"),
                ),
                other => other,
            },
        )?;
        if !logins.insert(account.login.clone()) {
            return Err(crate::refuse(
                format!("第 {line} 行：登录名 {} 重复", account.login),
                format!("line {line}: login {} appears twice", account.login),
            ));
        }
        accounts.push(account);
    }
    if accounts.is_empty() {
        return Err(crate::refuse(
            "文件中没有账号",
            "the file holds no accounts",
        ));
    }
    let mut rows = Vec::new();
    let mut passwords = Vec::new();
    for account in accounts {
        let password = whistle_server::auth::random_hex(8);
        let hash = hash_password(&password).map_err(Failure::Failed)?;
        passwords.push((account.login.clone(), password));
        rows.push((account, hash));
    }
    store
        .put_users(&rows, chrono::Utc::now())
        .await
        .map_err(|e| store_failure(e, whistle_core::error::Lang::Zh))?;
    out!("login,initial_password");
    for (login, password) in passwords {
        out!("{login},{password}");
    }
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, Failure> {
    Role::parse(text).ok_or_else(|| {
        let roles = Role::ALL
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        crate::refuse(
            format!("角色有误，可选：{roles}"),
            format!("unknown role: use one of {roles}"),
        )
    })
}

fn parse_unit(text: &str) -> Result<UnitCode, Failure> {
    UnitCode::parse(text).map_err(|e| {
        Failure::Refused(format!(
            "[{}] {}",
            e.key(),
            e.message(crate::process_lang())
        ))
    })
}

/// `user grant` or `user ungrant`: the change, then a line saying it.
async fn grant_command(
    store: &dyn Store,
    login: &str,
    role: &str,
    unit: &str,
    give: bool,
) -> Result<(), Failure> {
    let role = parse_role(role)?;
    let unit = parse_unit(unit)?;
    change_grant(store, login, role, &unit, give).await?;
    out!(
        "{login}: {} {} at {unit}",
        if give { "+" } else { "-" },
        role.label_zh()
    );
    Ok(())
}

pub async fn user(env: &Env, command: UserCommand) -> Result<(), Failure> {
    let store = env.open().await?;
    match command {
        UserCommand::Add {
            login,
            role,
            unit,
            name,
        } => {
            let role = parse_role(&role)?;
            let unit = parse_unit(&unit)?;
            let password = password()?;
            add_user(
                &*store,
                &login,
                role,
                &unit,
                name.as_deref().unwrap_or(&login),
                &password,
            )
            .await?;
            out!("{login}: {} at {unit}", role.label_zh());
        }
        UserCommand::Import { file } => import_users(&*store, &file).await?,
        UserCommand::Grant { login, role, unit } => {
            grant_command(&*store, &login, &role, &unit, true).await?
        }
        UserCommand::Ungrant { login, role, unit } => {
            grant_command(&*store, &login, &role, &unit, false).await?
        }
        UserCommand::List => {
            for account in store
                .users()
                .await
                .map_err(|e| store_failure(e, env.lang))?
            {
                let others: String = account
                    .other_roles
                    .iter()
                    .map(|g| format!(" +{g}"))
                    .collect();
                out!(
                    "{:<24} {:<12} {:<34} {}{}{others}",
                    account.login,
                    account.role,
                    account.unit,
                    account.display_name,
                    if account.active { "" } else { " (disabled)" }
                );
            }
        }
        UserCommand::Disable { login } => {
            let (mut account, hash) = store
                .user(&login)
                .await
                .map_err(|e| store_failure(e, env.lang))?
                .ok_or_else(|| crate::refuse("没有该账号", "no such account"))?;
            account.active = false;
            store
                .put_user(&account, &hash, chrono::Utc::now())
                .await
                .map_err(|e| store_failure(e, env.lang))?;
            out!("{login} disabled");
        }
    }
    Ok(())
}

pub async fn token(env: &Env, command: TokenCommand) -> Result<(), Failure> {
    let store = env.open().await?;
    match command {
        TokenCommand::Create { name, scope, unit } => {
            if scope != whistle_server::auth::SCOPE_OPEN311 {
                parse_role(&scope)?;
            }
            let unit = parse_unit(&unit)?;
            store.reference().directory.require(&unit).map_err(|e| {
                Failure::Refused(format!(
                    "[{}] {}",
                    e.key(),
                    e.message(crate::process_lang())
                ))
            })?;
            let (record, token) = new_token(&name, &scope, None, unit);
            store
                .put_token(&record, chrono::Utc::now())
                .await
                .map_err(|e| store_failure(e, env.lang))?;
            out!("{token}");
        }
        TokenCommand::Revoke { id } => {
            let mut record = store
                .token(&id)
                .await
                .map_err(|e| store_failure(e, env.lang))?
                .ok_or_else(|| crate::refuse("没有该令牌", "no such token"))?;
            record.revoked = true;
            store
                .put_token(&record, chrono::Utc::now())
                .await
                .map_err(|e| store_failure(e, env.lang))?;
            out!("token {id} revoked");
        }
    }
    Ok(())
}

/// The demo accounts: (login, role, unit, display name). Password: `demo-password`.
const DEMO_ACCOUNTS: [(&str, &str, &str, &str); 15] = [
    ("operator", "operator", "11.center", "接线员小王"),
    ("dispatcher", "dispatcher", "11.center", "派单员小李"),
    ("visit", "visit_agent", "11.center", "回访员小张"),
    ("supervisor", "supervisor", "11.center", "督办员老赵"),
    ("admin", "admin", "11.center", "系统管理员"),
    ("street", "handler", "110105010", "小关街道承办人"),
    (
        "chengguan",
        "handler",
        "110105.dept.urban-management",
        "朝阳区城管执法局承办人",
    ),
    ("leader", "leader", "110105", "朝阳区领导"),
    (
        "official",
        "street_official",
        "110105010",
        "小关街道吹哨干部",
    ),
    (
        "liaison",
        "department_liaison",
        "110105.dept.urban-management",
        "朝阳区城管执法局报到联络人",
    ),
    (
        "waterworks",
        "department_liaison",
        "11.ent.water-supply",
        "北京市自来水集团报到联络人",
    ),
    (
        "coordinator",
        "district_coordinator",
        "110105",
        "朝阳区吹哨协调员",
    ),
    (
        "gridworker",
        "grid_worker",
        "110105010.grid.01",
        "小关街道网格员",
    ),
    (
        "lanechief",
        "lane_chief",
        "110105010.lane.01",
        "惠新东街街巷长",
    ),
    (
        "steward",
        "lane_steward",
        "110105010.lane.01",
        "惠新东街小巷管家",
    ),
];

/// The demo accounts' further roles, to switch to: the centre's supervisor also dispatches
/// (a shift leader), the street official also handles the street's orders.
const DEMO_GRANTS: [(&str, &str, &str); 2] = [
    ("supervisor", "dispatcher", "11.center"),
    ("official", "handler", "110105010"),
];

/// The demo street's grid and lane, for its grid worker, lane chief and lane steward.
const DEMO_UNITS: [(&str, whistle_core::org::UnitKind, &str); 2] = [
    (
        "110105010.grid.01",
        whistle_core::org::UnitKind::Grid,
        "小关街道第一网格",
    ),
    (
        "110105010.lane.01",
        whistle_core::org::UnitKind::Lane,
        "惠新东街",
    ),
];
pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo street's grid and lane and an account for each role (`init --demo` and `demo`).
pub async fn demo_people(
    store: &dyn Store,
    lang: whistle_core::error::Lang,
) -> Result<(), Failure> {
    let units = DEMO_UNITS
        .iter()
        .map(|(code, kind, name)| {
            Ok(whistle_core::org::Unit {
                code: parse_unit(code)?,
                kind: *kind,
                name: (*name).to_string(),
                parent: Some(parse_unit("110105010")?),
                line: None,
                status: whistle_core::org::UnitStatus::Active,
                merged_into: None,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    store
        .import(
            whistle_store::ReferenceImport::Units(units),
            &crate::reference_cmd::admin_actor()?,
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| store_failure(e, lang))?;
    for (login, role, unit, name) in DEMO_ACCOUNTS {
        add_user(
            store,
            login,
            parse_role(role)?,
            &parse_unit(unit)?,
            name,
            DEMO_PASSWORD,
        )
        .await?;
    }
    for (login, role, unit) in DEMO_GRANTS {
        change_grant(store, login, parse_role(role)?, &parse_unit(unit)?, true).await?;
    }
    Ok(())
}

pub async fn demo(env: &Env, settings: &Settings, args: DemoArgs) -> Result<(), Failure> {
    let path = args.data_dir.join("whistle.db");
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).map_err(|e| Failure::Failed(e.into()))?;
        }
    }
    let demo_env = Env {
        url: format!("sqlite://{}", path.display()),
        lang: env.lang,
        tuning: env.tuning,
    };
    let clock: Arc<dyn whistle_server::Clock> = match &args.clock {
        None => Arc::new(whistle_server::SystemClock),
        Some(text) => {
            let start = whistle_core::time::parse_beijing(text).map_err(|_| {
                crate::refuse(
                    "--clock 的格式应为 2026-12-01 09:00（北京时间）",
                    "--clock takes a Beijing time like 2026-12-01 09:00",
                )
            })?;
            Arc::new(whistle_server::StartedClock::new(start))
        }
    };
    crate::reference_cmd::init(&demo_env, Some(args.orders), clock.now()).await?;
    let store = demo_env.open().await?;
    if args.simulated_per_day > 0 {
        let today = whistle_core::time::beijing_date(clock.now());
        let report = crate::simulate::run(
            &*store,
            &crate::simulate::Settings {
                days: 31,
                seed: 7,
                per_day: args.simulated_per_day,
                start: today - chrono::Days::new(38),
            },
        )
        .await?;
        println!(
            "simulated month: {} orders from {} ({:.1} s)",
            report.orders,
            today - chrono::Days::new(38),
            report.seconds
        );
    }
    let (record, token) = new_token(
        "demo integration",
        "operator",
        None,
        parse_unit("11.center")?,
    );
    store
        .put_token(&record, clock.now())
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    let (record, open311) = new_token(
        "demo 311 app",
        whistle_server::auth::SCOPE_OPEN311,
        None,
        parse_unit("11.center")?,
    );
    store
        .put_token(&record, clock.now())
        .await
        .map_err(|e| store_failure(e, env.lang))?;
    let accounts = DEMO_ACCOUNTS
        .iter()
        .map(|(login, role, unit, name)| format!("  {login:<11} {role:<20} {unit:<30} {name}"))
        .collect::<Vec<_>>()
        .join("\n");
    let grants = DEMO_GRANTS
        .iter()
        .map(|(login, role, unit)| format!("{login} +{role}@{unit}"))
        .collect::<Vec<_>>()
        .join(", ");
    let banner = format!(
        "\n演示账户 demo accounts (password: {DEMO_PASSWORD}):\n{accounts}\n\
         切换角色 further roles, switched at the top right of the pages: {grants}\n\n\
         API token (operator at 11.center): {token}\nOpen311 token: {open311}\n\n\
         Try:\n  curl -s http://{{address}}/api/v1/orders?limit=3 -H 'Authorization: Bearer {token}'\n  \
         curl -s -X POST http://{{address}}/api/v1/orders -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n       \
         -d '{{\"request_type\":\"complaint\",\"text\":\"小区门口占道经营\",\"category\":\"11.04.01\",\"location\":{{\"street\":\"110105010\"}},\"requester\":{{\"phone\":\"13800001234\"}}}}'\n  \
         curl -s http://{{address}}/open311/v2/services.json\n"
    );
    let mut server = settings.server.clone();
    server.listen = args.listen;
    run_server(store, server, Some(banner), clock).await
}
