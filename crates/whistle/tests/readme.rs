//! The README's command-line walk-through, run as pasted: its lines are taken from README.md
//! (the indented block after "The command line works on the same engine"), so the README cannot
//! drift from the binary. They run in order under `bash -euo pipefail` in an empty directory,
//! with `whistle` on the PATH being this build's binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn walkthrough() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("The command line works on the same engine")
        .expect("the walk-through's heading sentence");
    let mut lines = Vec::new();
    let mut inside = false;
    for line in readme[start..].lines() {
        if let Some(command) = line.strip_prefix("    ") {
            inside = true;
            lines.push(command.to_string());
        } else if inside && !line.trim().is_empty() {
            break;
        }
    }
    lines
}

#[test]
fn the_readme_walkthrough_runs_as_pasted() {
    let lines = walkthrough();
    assert!(lines.len() > 20, "{lines:?}");
    assert!(lines[0].starts_with("whistle init --demo"));
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_whistle"), bin.join("whistle")).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    for line in &lines {
        // Each line is echoed before it runs, so a failure says which.
        script.push_str(&format!(
            "echo '>>> {}' >&2\n{line}\n",
            line.replace('\'', "")
        ));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env("PATH", format!("{}:{path}", bin.display()))
        .env_remove("WHISTLE_DATABASE__URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README walk-through failed:\n{}",
        stderr
            .lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // What the lines are there to show, shown.
    let all = format!("{stdout}{stderr}");
    assert!(stdout.contains("2025-10-16 17:00"), "the deadline example");
    assert!(all.contains("v3: 签收"), "the order was accepted");
    assert!(
        all.contains("W2") && all.contains("report_in"),
        "the whistle and its report-in"
    );
    assert!(work.join("evaluation.xlsx").exists());
    assert!(all.contains("日通报"), "the daily bulletin");
}
