//! `whistle backup`: a copy of a live SQLite database taken while commands are written is a
//! database of its own — it opens, it replays clean (`rebuild` finds no difference), it holds
//! every order acknowledged before the copy began — and a backup never overwrites a file or
//! leaves a half-written one.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use support::*;
use whistle_store::Migrate;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_and_replays_clean() {
    let db = sqlite().await;
    let store = db.store.clone();
    for i in 0..200 {
        let order = take(
            &*store,
            "2025-10-09 09:00",
            complaint("110105010", "11.04.01", &format!("备份前 {i}")),
        )
        .await;
        act(&*store, center(), "2025-10-09 09:10", &order, dispatch()).await;
    }
    let (before, _) = store.totals().await.unwrap();
    // Writers keep going while the copy is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let store = store.clone();
        let stop = stop.clone();
        let written = written.clone();
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let order = take(
                    &*store,
                    "2025-10-09 10:00",
                    complaint("110105010", "11.04.01", &format!("备份中 {i}")),
                )
                .await;
                act(&*store, center(), "2025-10-09 10:10", &order, dispatch()).await;
                written.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    while written.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("copy.db");
    let url = db.url.clone();
    let target = output.clone();
    let report =
        tokio::task::spawn_blocking(move || whistle_store::backup::backup_sqlite(&url, &target))
            .await
            .unwrap()
            .unwrap();
    let during = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(report.pages > 0 && report.bytes > 0);
    assert_eq!(report.schema_version, whistle_store::SCHEMA_VERSION);
    assert!(!dir.path().join("copy.db.partial").exists());
    // The copy: opens as it is, holds what was there before, replays clean.
    let copy_url = format!("sqlite://{}", output.display());
    let copy = whistle_store::open(&copy_url, Migrate::Refuse)
        .await
        .unwrap();
    let (orders, events) = copy.totals().await.unwrap();
    let during = during as i64;
    assert!(
        orders >= before + 20 && orders <= before + during + 1,
        "{orders}"
    );
    let rebuilt = copy.rebuild_projections().await.unwrap();
    assert!(rebuilt.differing.is_empty(), "{rebuilt:?}");
    assert_eq!(rebuilt.counter_cells_differing, 0, "{rebuilt:?}");
    assert_eq!(rebuilt.events, events as u64);
    // A second backup to the same name is refused and leaves the first untouched.
    let url = db.url.clone();
    let target = output.clone();
    let again =
        tokio::task::spawn_blocking(move || whistle_store::backup::backup_sqlite(&url, &target))
            .await
            .unwrap();
    assert!(again.unwrap_err().to_string().contains("exists already"));
    assert_eq!(std::fs::metadata(&output).unwrap().len(), report.bytes);
}

#[test]
fn a_backup_of_postgres_or_of_nothing_is_refused_with_the_way_to_go() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("copy.db");
    let pg = whistle_store::backup::backup_sqlite("postgres://whistle:secret@db/whistle", &output)
        .unwrap_err()
        .to_string();
    assert!(pg.contains("pg_dump") && !pg.contains("secret"), "{pg}");
    let missing = format!("sqlite://{}", dir.path().join("none.db").display());
    assert!(whistle_store::backup::backup_sqlite(&missing, &output)
        .unwrap_err()
        .to_string()
        .contains("no database"));
    assert!(!output.exists());
}
