//! Black-box tests of the `whistle` binary: the contract commands, refusals with exit code 2,
//! imports that commit nothing on error, and durability across a hard kill.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("whistle.db").display())
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_whistle"));
        command
            .current_dir(self.dir.path())
            .env_remove("WHISTLE_DATABASE__URL")
            .env("WHISTLE_LOG", "error");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stderr).unwrap()
    }
}

#[test]
fn init_creates_whistle_db_in_the_working_directory() {
    let ws = Workspace::new();
    let output = ws.ok(&["init"]);
    assert!(output.contains("343"), "{output}");
    assert!(ws.dir.path().join("whistle.db").exists());
    // Idempotent.
    ws.ok(&["init"]);
    let units = ws.ok(&["units", "--district", "110105"]);
    assert!(
        units.contains("110105010")
            && units.contains("110105.dept.urban-management")
            && units.contains("110105.center")
    );
    assert!(ws.ok(&["categories"]).contains("11.04.01 占道经营"));
    assert!(ws
        .ok(&["--lang", "en", "categories"])
        .contains("Street vending on the road"));
}

#[test]
fn init_with_demo_data_fills_every_stage() {
    let ws = Workspace::new();
    assert!(ws.ok(&["init", "--demo", "90"]).contains("90"));
    for stage in [
        "pending_dispatch",
        "dispatched",
        "accepted",
        "replied",
        "visited",
        "closed",
    ] {
        let listed = ws.ok(&["order", "list", "--stage", stage, "--limit", "1000"]);
        assert!(!listed.is_empty(), "no demo order is {stage}");
    }
    // Running it again adds nothing.
    ws.ok(&["init", "--demo", "90"]);
    assert_eq!(
        ws.ok(&["order", "list", "--limit", "1000"]).lines().count(),
        90
    );
    // Orders written at the real clock (sub-millisecond times) replay to the stored projections.
    assert!(
        ws.ok(&["rebuild"]).contains("0 projections differed"),
        "projection ≠ replay"
    );
    // The evaluation of this month from the counters: a header and ranked units; an empty
    // period says so; a future or malformed period is refused.
    // The sample spans the last two weeks, so on the first days of a month most of it lies in
    // the previous one: look at each month the orders fall in.
    let listed = ws.ok(&["order", "list", "--limit", "1000"]);
    let mut periods: Vec<String> = listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(|no| format!("{}-{}", &no[0..4], &no[4..6]))
        .collect();
    periods.sort();
    periods.dedup();
    let csvs: Vec<String> = periods
        .iter()
        .map(|period| {
            ws.ok(&[
                "report",
                "evaluation",
                "--period",
                period,
                "--format",
                "csv",
            ])
        })
        .collect();
    for csv in &csvs {
        assert!(
            csv.is_empty() || csv.starts_with("group,rank,unit,name,dispatched,visits"),
            "{csv}"
        );
        // A unit is ranked only with the policy's minimum of valid visits (5); under it, it is
        // shown unranked and marked.
        for line in csv.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let (rank, visits, insufficient) = (fields[1], fields[5], fields[20]);
            let visits: i64 = visits.parse().unwrap();
            assert_eq!(insufficient == "true", visits < 5, "{line}");
            assert!(rank.is_empty() || visits >= 5, "{line}");
        }
    }
    assert!(
        csvs.iter()
            .any(|csv| csv.lines().any(|l| l.split(',').nth(1) == Some("1"))),
        "{csvs:?}"
    );
    let output = ws.run(&["report", "evaluation", "--period", "2019-01"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("没有派单或回访数据"));
    ws.refused(&["report", "evaluation", "--period", "2099-01"]);
    ws.refused(&["report", "evaluation", "--period", "2026-13"]);
    ws.refused(&[
        "report",
        "evaluation",
        "--period",
        &periods[0],
        "--format",
        "pdf",
    ]);
}

#[test]
fn deadline_is_a_contract() {
    let ws = Workspace::new();
    // Works before init, from the shipped calendar.
    assert_eq!(
        ws.ok(&[
            "deadline",
            "--from",
            "2025-09-30 17:00",
            "--working-days",
            "7"
        ]),
        "2025-10-16 17:00\n"
    );
    assert_eq!(
        ws.ok(&["deadline", "--from", "2025-09-30 23:00", "--hours", "2"]),
        "2025-10-01 01:00\n"
    );
    ws.ok(&["init"]);
    assert_eq!(
        ws.ok(&[
            "deadline",
            "--from",
            "2025-09-30 17:00",
            "--working-days",
            "7"
        ]),
        "2025-10-16 17:00\n"
    );
    let output = ws.run(&[
        "deadline",
        "--from",
        "2027-03-01 09:00",
        "--working-days",
        "1",
    ]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("2027"),
        "a fallback year must be visible"
    );
    assert!(ws
        .refused(&["deadline", "--from", "yesterday", "--working-days", "1"])
        .contains("invalid_time"));
    assert!(!ws
        .run(&["deadline", "--from", "2025-09-30 17:00"])
        .status
        .success());
}

#[test]
fn an_order_through_the_cli() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let no = ws
        .ok(&[
            "order",
            "new",
            "--type",
            "complaint",
            "--text",
            "小区门口占道经营",
            "--street",
            "110105010",
            "--category",
            "11.04.01",
            "--name",
            "张三",
            "--phone",
            "13800001234",
            "--at",
            "2025-09-30 16:00",
        ])
        .trim()
        .to_string();
    assert!(no.starts_with("20250930-"), "{no}");
    // A consultation answered on the call, the disposition spelt as in the JSON API; the old
    // CLI spelling is refused, naming the field.
    let consult = |triage: &str| {
        let mut args = vec![
            "order",
            "new",
            "--type",
            "consult",
            "--text",
            "垃圾分类的投放时间",
            "--street",
            "110105010",
            "--category",
            "11.04.01",
            "--at",
            "2025-09-30 16:10",
            "--triage",
        ];
        args.push(triage);
        args.extend(["--detail", "每天 7:00–9:00、18:00–20:00"]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let answered = ws.ok(&consult("answer_now")
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let shown = ws.ok(&["order", "show", answered.trim()]);
    assert!(
        shown.contains("answer_now") || shown.contains("受理即办结"),
        "{shown}"
    );
    assert!(ws
        .refused(
            &consult("answer-now")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        )
        .contains("triage"));
    assert!(ws
        .ok(&["order", "dispatch", &no, "--at", "2025-09-30 17:00"])
        .contains("2025-10-16 17:00"));
    ws.ok(&["order", "accept", &no, "--at", "2025-09-30 18:00"]);
    ws.ok(&["order", "contact", &no, "--at", "2025-10-01 09:00"]);
    ws.ok(&[
        "order",
        "reply",
        &no,
        "--outcome",
        "resolved",
        "--actions",
        "已清理",
        "--at",
        "2025-10-09 09:00",
    ]);
    ws.ok(&[
        "order",
        "visit",
        &no,
        "--contacted",
        "yes",
        "--resolved",
        "yes",
        "--satisfaction",
        "satisfied",
        "--at",
        "2025-10-09 10:00",
    ]);
    ws.ok(&["order", "close", &no, "--at", "2025-10-09 11:00"]);
    let refusal = ws.refused(&["order", "accept", &no]);
    assert!(
        refusal.contains("illegal_transition") && refusal.contains("已结案"),
        "{refusal}"
    );
    let refusal = ws.refused(&["--lang", "en", "order", "close", &no]);
    assert!(
        refusal.contains("not allowed when the order is `closed`"),
        "{refusal}"
    );
    let shown = ws.ok(&["order", "show", &no]);
    assert!(
        shown.contains("*******1234") && !shown.contains("13800001234"),
        "{shown}"
    );
    assert!(
        shown.contains("cli@110105010") && shown.contains("结案"),
        "{shown}"
    );
    // As JSON, every instant in Beijing time like the header and the API (none in UTC).
    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["order", "show", &no, "--json"])).unwrap();
    let received = json["order"]["received_at"].as_str().unwrap();
    assert!(received.ends_with("+08:00"), "{received}");
    let text = json.to_string();
    assert!(!text.contains("Z\"") && text.contains("+08:00\""), "{text}");
    let listed = ws.ok(&["order", "list", "--street", "110105010"]);
    assert!(listed.contains(&no));
    assert!(ws
        .refused(&["order", "show", "20990101-000001"])
        .contains("not_found"));
    assert!(ws
        .refused(&[
            "order",
            "new",
            "--type",
            "complaint",
            "--text",
            "",
            "--street",
            "110105010",
            "--category",
            "11.04.01"
        ])
        .contains("text_empty"));
    assert!(ws
        .refused(&[
            "order",
            "new",
            "--type",
            "gossip",
            "--text",
            "x",
            "--street",
            "110105010",
            "--category",
            "11.04.01"
        ])
        .contains("invalid_value"));
}

#[test]
fn a_bad_import_commits_nothing() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let before = ws.ok(&["units", "--format", "csv"]);
    let file = ws.dir.path().join("units.csv");
    std::fs::write(&file, "code,kind,name,parent,line,status,merged_into\n110105.grid.1,grid,网格一,110105010,,active,\n110105.grid.2,gird,网格二,110105010,,active,\n").unwrap();
    let error = ws.refused(&["import", "units", file.to_str().unwrap()]);
    assert!(error.contains("line 3"), "{error}");
    let mut bytes = b"code,kind,name,parent,line,status,merged_into\n".to_vec();
    bytes.extend_from_slice(b"110105.grid.1,grid,\xff\xfe,110105010,,active,\n");
    std::fs::write(&file, bytes).unwrap();
    assert!(ws
        .refused(&["import", "units", file.to_str().unwrap()])
        .contains("UTF-8"));
    assert_eq!(ws.ok(&["units", "--format", "csv"]), before);
    // A good file imports; exporting and re-importing the catalogue makes a new version.
    std::fs::write(&file, "code,kind,name,parent,line,status,merged_into\n110105.grid.1,grid,网格一,110105010,,active,\n").unwrap();
    assert!(ws
        .ok(&["import", "units", file.to_str().unwrap()])
        .contains("1 added"));
    let catalogue = ws.dir.path().join("catalogue.csv");
    std::fs::write(&catalogue, ws.ok(&["export", "catalogue"])).unwrap();
    assert!(ws
        .ok(&["import", "catalogue", catalogue.to_str().unwrap()])
        .contains("catalogue version 2"));
}

#[test]
fn the_database_url_flag_wins_and_unknown_schemas_are_refused() {
    let ws = Workspace::new();
    let elsewhere = ws.dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}", elsewhere.display());
    let output = ws
        .command()
        .args(["--database-url", &url, "init"])
        .env("WHISTLE_DATABASE__URL", "sqlite://ignored.db")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(elsewhere.exists() && !ws.dir.path().join("ignored.db").exists());
    let output = ws
        .command()
        .args(["units", "--district", "110105"])
        .env("WHISTLE_DATABASE__URL", &url)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(ws.refused(&["units"]).contains("whistle init"));
    assert!(ws
        .refused(&["--database-url", "mysql://x", "units"])
        .contains("unsupported"));
}

/// `backup` copies the database into a new file (never over one); `config` prints TOML with the
/// password masked; `demo` refuses a database it would not use.
#[test]
fn backup_config_and_the_demos_database() {
    let ws = Workspace::new();
    ws.ok(&["init", "--demo", "20"]);
    let copy = ws.dir.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap();
    assert!(ws
        .ok(&["backup", "--output", copy_arg])
        .contains("schema v"));
    assert!(ws
        .refused(&["backup", "--output", copy_arg])
        .contains("exists already"));
    let url = format!("sqlite://{}", copy.display());
    let listed = ws.ok(&["--database-url", &url, "order", "list", "--limit", "5"]);
    assert!(listed.lines().count() >= 5, "{listed}");
    assert!(ws
        .refused(&[
            "--database-url",
            "postgres://whistle:pw@127.0.0.1:1/x",
            "backup",
            "--output",
            "x.db"
        ])
        .contains("pg_dump"));
    let output = ws
        .command()
        .args(["config"])
        .env(
            "WHISTLE_DATABASE__URL",
            "postgres://whistle:s3cret@db/whistle",
        )
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("[server.worker]") && shown.contains("whistle:***@db"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"));
    let refused = ws.refused(&[
        "--database-url",
        "postgres://whistle:s3cret@127.0.0.1/x",
        "demo",
    ]);
    assert!(
        refused.contains("init --demo") && !refused.contains("s3cret"),
        "{refused}"
    );
}

/// A crash loses nothing that was acknowledged: kill -9 a writer mid-stream, then every order
/// number it printed (printed only after its commit returned) must be in the database.
#[test]
fn acknowledged_orders_survive_a_hard_kill() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let mut child = ws
        .command()
        .args(["bench", "ack-stream"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        acknowledged.push(line.unwrap());
        if acknowledged.len() == 3000 {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert_eq!(acknowledged.len(), 3000);
    let url = ws.url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = whistle_store::open(&url, whistle_store::Migrate::Refuse)
            .await
            .unwrap();
        for no in &acknowledged {
            let no = whistle_core::ids::OrderNo::parse(no).unwrap();
            assert!(
                store
                    .order(&whistle_store::OrderRef::No(no.clone()))
                    .await
                    .unwrap()
                    .is_some(),
                "{no} was acknowledged but lost"
            );
        }
        let (orders, _) = store.totals().await.unwrap();
        assert!(orders as usize >= acknowledged.len());
    });
}

#[test]
fn accounts_tokens_and_a_graceful_serve() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    // A token is printed alone on stdout, once.
    let token = ws.ok(&["token", "create", "--name", "311 app", "--scope", "open311"]);
    let token = token.trim_end();
    assert!(
        token.len() == 4 + 12 + 1 + 32 && token.starts_with("wht_"),
        "{token:?}"
    );
    // Refusals follow --lang: Chinese by default, English on request.
    assert!(ws
        .refused(&["token", "create", "--name", "x", "--scope", "wizard"])
        .contains("角色有误"));
    assert!(ws
        .refused(&["--lang", "en", "token", "create", "--name", "x", "--scope", "wizard"])
        .contains("unknown role"));
    assert!(ws
        .refused(&["order", "supervise", "20251009-000001"])
        .contains("请给出 --flag 或 --urge"));
    // Accounts: the password from WHISTLE_PASSWORD (or stdin), never an argument.
    let output = ws
        .command()
        .args([
            "user",
            "add",
            "wangli",
            "--role",
            "dispatcher",
            "--unit",
            "11.center",
            "--name",
            "王丽",
        ])
        .env("WHISTLE_PASSWORD", "correct horse battery")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(ws.ok(&["user", "list"]).contains("wangli"));
    // A further role: checked like the first (a role that fits its unit), listed, taken away.
    let grant = |verb: &'static str, role: &'static str, unit: &'static str| {
        ["user", verb, "wangli", "--role", role, "--unit", unit]
    };
    ws.ok(&grant("grant", "supervisor", "11.center"));
    assert!(ws.ok(&["user", "list"]).contains("+supervisor@11.center"));
    assert!(!ws
        .refused(&grant("grant", "supervisor", "11.center"))
        .is_empty());
    assert!(!ws
        .refused(&grant("grant", "street_official", "11.center"))
        .is_empty());
    assert!(!ws
        .refused(&grant("ungrant", "operator", "11.center"))
        .is_empty());
    ws.ok(&grant("ungrant", "supervisor", "11.center"));
    assert!(!ws.ok(&["user", "list"]).contains("+supervisor"));
    let output = ws
        .command()
        .args([
            "user",
            "add",
            "x y",
            "--role",
            "operator",
            "--unit",
            "11.center",
        ])
        .env("WHISTLE_PASSWORD", "long enough pw")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = ws
        .command()
        .args([
            "user",
            "add",
            "ghost",
            "--role",
            "handler",
            "--unit",
            "119999999",
        ])
        .env("WHISTLE_PASSWORD", "long enough pw")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // serve answers, and SIGTERM finishes it cleanly.
    let mut child = ws
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("WHISTLE_SERVER__WORKER__TICK_SECONDS", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(address.starts_with("http://127.0.0.1:"), "{line}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let health = runtime.block_on(async {
        reqwest::get(format!("{address}/healthz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(health, "ok");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
}

/// A street's grids and lanes with their workers, chiefs and stewards imported in bulk; a grid
/// case filed and a whistle raised and answered through the CLI.
#[test]
fn grids_lanes_their_people_and_whistles_through_the_cli() {
    let ws = Workspace::new();
    ws.ok(&["init"]);
    let units = ws.dir.path().join("grid_units.csv");
    std::fs::write(
        &units,
        "code,kind,name,parent,line,status,merged_into\n\
         110105010.grid.01,grid,小关街道第一网格,110105010,,active,\n\
         110105010.lane.01,lane,惠新东街,110105010,,active,\n",
    )
    .unwrap();
    assert!(ws
        .ok(&["import", "units", units.to_str().unwrap()])
        .contains("2 added"));
    let people = ws.dir.path().join("people.csv");
    std::fs::write(
        &people,
        "login,role,unit,name\n\
         zhang.grid,grid_worker,110105010.grid.01,张网格\n\
         li.lane,lane_chief,110105010.lane.01,李巷长\n\
         wang.lane,lane_steward,110105010.lane.01,王管家\n\
         li,street_official,110105010,李干部\n\
         wang,department_liaison,11.ent.water-supply,王联络\n",
    )
    .unwrap();
    let passwords = ws.ok(&["user", "import", people.to_str().unwrap()]);
    assert_eq!(passwords.lines().count(), 6, "{passwords}");
    assert!(passwords.starts_with("login,initial_password\n"));
    // A role that does not fit its unit refuses the whole file, naming the line.
    let bad = ws.dir.path().join("bad_people.csv");
    std::fs::write(
        &bad,
        "login,role,unit,name\n\
         zhao.grid,grid_worker,110105010.grid.01,赵网格\n\
         qian.lane,lane_chief,110105010,钱巷长\n",
    )
    .unwrap();
    assert!(ws
        .refused(&["user", "import", bad.to_str().unwrap()])
        .contains("第 3 行"));
    let list = ws.ok(&["user", "list"]);
    assert!(
        list.contains("li.lane") && !list.contains("zhao.grid"),
        "{list}"
    );
    // The whistle list, a raise by item, a report-in, refusals with exit code 2.
    assert!(ws
        .ok(&["whistle-list", "--street", "110105010"])
        .contains("pipe-burst"));
    ws.refused(&["whistle-list", "--street", "110105"]);
    let raised = ws.ok(&[
        "whistle",
        "raise",
        "--as",
        "li@110105010",
        "--kind",
        "emergency",
        "--item",
        "pipe-burst",
        "--place",
        "惠新东街",
        "--needed",
        "抢修",
    ]);
    // The number alone on standard output, so that W=$(whistle whistle raise …) works.
    let no = raised.trim().to_string();
    assert!(no.starts_with('W') && !no.contains(' '), "{raised}");
    assert!(ws
        .ok(&["whistle", "show", &no])
        .contains("11.ent.water-supply"));
    ws.ok(&[
        "whistle",
        "act",
        &no,
        "report_in",
        "--as",
        "wang@11.ent.water-supply",
        "--fields",
        r#"{"people": 3}"#,
    ]);
    assert!(ws
        .refused(&[
            "whistle",
            "act",
            &no,
            "report_in",
            "--as",
            "wang@11.ent.water-supply",
            "--fields",
            r#"{"people": 3}"#,
        ])
        .contains("already_reported_in"));
    ws.refused(&[
        "whistle",
        "act",
        &no,
        "report_in",
        "--as",
        "x@11.center",
        "--fields",
        "[1]",
    ]);
    ws.refused(&["whistle", "act", &no, "fly", "--as", "x@110105010"]);
    // --as names real, enabled accounts of that unit whose role may take the step.
    for (actor, step) in [
        ("ghost@11.ent.water-supply", "report_in"),
        ("li@11.ent.water-supply", "report_in"),
        ("zhang.grid@110105010.grid.01", "report_in"),
    ] {
        let refusal = ws.refused(&[
            "whistle",
            "act",
            &no,
            step,
            "--as",
            actor,
            "--fields",
            r#"{"people": 1}"#,
        ]);
        assert!(refusal.contains("invalid_actor"), "{actor}: {refusal}");
    }
    assert!(ws.ok(&["whistle", "show", &no]).contains("\"people\": 3"));
    assert!(ws.ok(&["whistle", "list"]).contains(&no));
    // A grid case filed by the grid worker's unit, dispatched by the street.
    let filed = ws.ok(&[
        "grid",
        "file",
        "--as",
        "zhang.grid@110105010.grid.01",
        "--role",
        "grid_worker",
        "--category",
        "11.04.01",
        "--description",
        "路口占道经营",
        "--place",
        "惠新东街路口",
    ]);
    let case = filed.split_whitespace().next().unwrap().to_string();
    ws.ok(&[
        "grid",
        "act",
        &case,
        "dispatch",
        "--as",
        "li@110105010",
        "--fields",
        r#"{"to": "110105.dept.urban-management"}"#,
    ]);
    assert!(ws.ok(&["grid", "show", &case]).contains("dispatched"));
}

/// The simulator drives the real engine and is deterministic: the same seed gives the same
/// evaluation, byte for byte; another seed does not.
#[test]
fn the_simulator_is_deterministic_by_seed() {
    let evaluation = |seed: &str| {
        let ws = Workspace::new();
        let out = ws.ok(&[
            "simulate",
            "--days",
            "2",
            "--per-day",
            "300",
            "--seed",
            seed,
            "--start",
            "2026-10-08",
            "--db",
            "sim.db",
        ]);
        assert!(out.contains("simulated 2 days"), "{out}");
        let db = format!("sqlite://{}", ws.dir.path().join("sim.db").display());
        ws.ok(&[
            "--database-url",
            &db,
            "report",
            "evaluation",
            "--period",
            "2026-10",
            "--format",
            "csv",
        ])
    };
    let first = evaluation("7");
    assert!(first.lines().count() > 20, "{first}");
    assert_eq!(first, evaluation("7"));
    assert_ne!(first, evaluation("8"));
}

/// The bulletins and analyses from the command line: every format, reproducible bytes, topics
/// chosen and tracked, and clear refusals.
#[test]
fn reports_bulletins_and_topics_from_the_command_line() {
    let ws = Workspace::new();
    ws.ok(&[
        "simulate",
        "--days",
        "9",
        "--per-day",
        "200",
        "--seed",
        "5",
        "--start",
        "2026-10-01",
        "--db",
        "sim.db",
    ]);
    let db = format!("sqlite://{}", ws.dir.path().join("sim.db").display());
    let report = |args: &[&str]| {
        let mut all = vec!["--database-url", db.as_str(), "report"];
        all.extend_from_slice(args);
        ws.ok(&all)
    };
    let text = report(&["daily", "--date", "2026-10-08"]);
    assert!(
        text.starts_with("12345市民服务热线日通报（2026年10月8日）"),
        "{text}"
    );
    assert!(
        text.contains("【按区】") && text.contains("【紧急诉求】"),
        "{text}"
    );
    let csv = report(&["weekly", "--week", "2026-W41", "--format", "csv"]);
    assert!(csv.contains("# 每日受理量"), "{csv}");
    let json = report(&["monthly", "--month", "2026-10", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["kind"], "monthly");
    // XLSX to a file, twice: the same bytes.
    for name in ["a.xlsx", "b.xlsx"] {
        let path = ws.dir.path().join(name);
        report(&[
            "evaluation",
            "--period",
            "2026-10",
            "--format",
            "xlsx",
            "--output",
            path.to_str().unwrap(),
        ]);
    }
    let a = std::fs::read(ws.dir.path().join("a.xlsx")).unwrap();
    assert_eq!(&a[..2], b"PK");
    assert_eq!(a, std::fs::read(ws.dir.path().join("b.xlsx")).unwrap());
    let english = ws.ok(&[
        "--lang",
        "en",
        "--database-url",
        &db,
        "report",
        "hotspots",
        "--date",
        "2026-10-09",
    ]);
    assert!(english.starts_with("Hotspots, 2026-10-09"), "{english}");
    // Topics: a bad lead is refused; a good one is tracked from its month.
    let topic = |lead: &str| {
        vec![
            "--database-url".to_string(),
            db.clone(),
            "topic".into(),
            "add".into(),
            "--code".into(),
            "2026-10-market".into(),
            "--title".into(),
            "市场管理".into(),
            "--chosen".into(),
            "2026-10".into(),
            "--categories".into(),
            "02".into(),
            "--lead".into(),
            lead.into(),
            "--target-ratio".into(),
            "0.8".into(),
        ]
    };
    let args = topic("11.dept.nowhere");
    let refusal = ws.refused(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        refusal.contains("unknown_unit") && !refusal.contains("11.dept.nowhere"),
        "{refusal}"
    );
    let args = topic("11.dept.market-regulation");
    ws.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let topics = report(&["topics", "--month", "2026-10"]);
    assert!(
        topics.contains("2026-10-market") && topics.contains("基准月"),
        "{topics}"
    );
    // Refusals: malformed and future periods, unknown formats.
    for args in [
        vec!["daily", "--date", "2026-10-32"],
        vec!["daily", "--date", "2099-01-01"],
        vec!["weekly", "--week", "2026-42"],
        vec!["monthly", "--month", "2026-1"],
        vec!["governance-streets", "--month", "2099-01"],
        vec!["daily", "--date", "2026-10-08", "--format", "pdf"],
        vec!["repeats", "--from", "2026-10-09", "--to", "2026-10-01"],
        vec!["evaluation", "--period", "2026-10", "--format", "pdf"],
        vec!["evaluation", "--period", "2026-10", "--unit", "110105999"],
    ] {
        let mut all = vec!["--database-url", db.as_str(), "report"];
        all.extend_from_slice(&args);
        ws.refused(&all);
    }
    // A malformed or invalid policy file is refused with the field named; nothing changes.
    let policy = ws.ok(&["--database-url", &db, "export", "policy"]);
    for (bad, field) in [
        ("[analysis]\nhotspot_alpha = 2.0\n", "hotspot_alpha"),
        ("[analysis]\ntopic_weight_growth = 0.9\n", "topic weights"),
        ("[analysis]\nno_such_rule = 1\n", "no_such_rule"),
        ("[evaluation]\nweight_response = 0.5\n", "sum to 1"),
        ("[evaluation]\ncount_by = \"closed\"\n", "count_by"),
        ("[analysis\n", "policy"),
    ] {
        let path = ws.dir.path().join("policy.toml");
        std::fs::write(&path, bad).unwrap();
        let refusal = ws.refused(&[
            "--database-url",
            &db,
            "import",
            "policy",
            path.to_str().unwrap(),
        ]);
        assert!(refusal.contains(field), "{bad}: {refusal}");
    }
    assert_eq!(ws.ok(&["--database-url", &db, "export", "policy"]), policy);
}
