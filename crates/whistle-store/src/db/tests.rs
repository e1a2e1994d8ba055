//! The executor on both backends (PostgreSQL when `WHISTLE_TEST_PG_URL` is set): statements,
//! savepoints, locks, commit and rollback, and the columns read back as the same values.

use super::{Db, Param};
use crate::types::{Migrate, StoreError};
use crate::Tuning;

async fn pg_url() -> Option<String> {
    let base = std::env::var("WHISTLE_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("whistle_test_db_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let root = &base[..base.rfind('/').unwrap()];
    Some(format!("{root}/{name}"))
}

const PUT: &str = "INSERT INTO settings (key, value) VALUES ($1, $2)";
const GET: &str = "SELECT value FROM settings WHERE key = $1";

async fn value(db: &dyn Db, key: &str) -> Option<String> {
    db.query_opt(GET, params![key])
        .await
        .unwrap()
        .map(|row| row.text(0).unwrap())
}

/// `transact`: the work's result is committed and returned; work that fails leaves nothing.
async fn exercise_transact(db: &dyn Db) {
    let got = super::transact(db, |tx: &mut dyn super::Tx| {
        Box::pin(async move {
            tx.execute(PUT, params!["t1", "1"]).await?;
            Ok(tx.query(GET, params!["t1"]).await?.len())
        })
    })
    .await
    .unwrap();
    assert_eq!(got, 1);
    assert_eq!(value(db, "t1").await.as_deref(), Some("1"));
    let failed = super::transact(db, |tx: &mut dyn super::Tx| {
        Box::pin(async move {
            tx.execute(PUT, params!["t2", "2"]).await?;
            tx.execute(PUT, params!["t1", "duplicate"]).await?;
            Ok(())
        })
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(value(db, "t2").await, None, "rolled back whole");
}

async fn exercise(db: &dyn Db) {
    exercise_transact(db).await;
    // A committed write is read back; a savepoint rolled back leaves the rest.
    let mut tx = db.write().await.unwrap();
    tx.execute(PUT, params!["a", "1"]).await.unwrap();
    tx.savepoint("s1").await.unwrap();
    tx.execute(PUT, params!["b", "2"]).await.unwrap();
    assert_eq!(tx.query(GET, params!["b"]).await.unwrap().len(), 1);
    tx.rollback_to("s1").await.unwrap();
    tx.release("s1").await.unwrap();
    let locked = tx.lock_row(GET, params!["a"]).await.unwrap().unwrap();
    assert_eq!(locked.text(0).unwrap(), "1");
    tx.commit().await.unwrap();
    assert_eq!(value(db, "a").await.as_deref(), Some("1"));
    assert_eq!(value(db, "b").await, None);

    // Dropped without commit: nothing of it stays, and the writer goes on.
    let mut tx = db.write().await.unwrap();
    tx.execute(PUT, params!["c", "3"]).await.unwrap();
    drop(tx);
    // A failing statement fails alone; the transaction, dropped, writes nothing.
    let mut tx = db.write().await.unwrap();
    tx.execute(PUT, params!["d", "4"]).await.unwrap();
    assert!(tx.execute(PUT, params!["a", "again"]).await.is_err());
    drop(tx);
    assert_eq!(db.execute(PUT, params!["e", "5"]).await.unwrap(), 1);
    assert_eq!(value(db, "c").await, None);
    assert_eq!(value(db, "d").await, None);
    assert_eq!(value(db, "e").await.as_deref(), Some("5"));

    // A read transaction is one snapshot; malformed SQL is an error, not a panic.
    let mut read = db.read().await.unwrap();
    assert_eq!(read.query(GET, params!["a"]).await.unwrap().len(), 1);
    assert!(read.query("SELEC nonsense", Vec::new()).await.is_err());
    drop(read);
    assert!(db
        .query("SELECT * FROM no_such_table", Vec::new())
        .await
        .is_err());

    // Columns: text, null, integer, boolean — the same values from both backends.
    db.execute(
        "INSERT INTO users (login, display_name, role, unit, password_hash, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            Param::from("u"),
            Param::from("名字"),
            Param::from("operator"),
            Param::from("110000000"),
            Param::from("hash"),
            Param::from(true),
            Param::from(1_700_000_000_000_i64),
        ],
    )
    .await
    .unwrap();
    let row = db
        .query_opt(
            "SELECT display_name, active, created_at, NULL FROM users WHERE login = $1",
            params!["u"],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.text(0).unwrap(), "名字");
    assert!(row.bool(1).unwrap());
    assert_eq!(row.int(2).unwrap(), 1_700_000_000_000);
    assert!(row.int(0).is_err(), "a text column is not an integer");
    assert!(row.text(9).is_err(), "no such column");
    let none: Option<String> = None;
    db.execute(
        "UPDATE users SET display_name = COALESCE($1, display_name) WHERE login = $2",
        params![none, "u"],
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executor_behaves_alike_on_both_backends() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::db::sqlite::store::SqliteStore::open(
        &dir.path().join("db.sqlite"),
        Migrate::Apply,
        Tuning::SERVICE,
    )
    .await?;
    exercise(&store).await;
    // On SQLite the work runs on the writer thread, where waiting on anything but the store
    // would hold every writer: such work is refused and rolled back.
    let waited = super::transact(&store, |tx: &mut dyn super::Tx| {
        Box::pin(async move {
            tx.execute(PUT, params!["w", "1"]).await?;
            tokio::task::yield_now().await;
            Ok(())
        })
    })
    .await;
    assert!(waited
        .unwrap_err()
        .to_string()
        .contains("waited on something outside"));
    assert_eq!(value(&store, "w").await, None);
    assert_eq!(
        store.execute(PUT, params!["after", "1"]).await.unwrap(),
        1,
        "the writer goes on"
    );
    match pg_url().await {
        Some(url) => {
            let store = crate::db::postgres::store::PgStore::open(&url, Migrate::Apply).await?;
            exercise(&store).await;
        }
        None => eprintln!("PostgreSQL skipped: WHISTLE_TEST_PG_URL is not set"),
    }
    Ok(())
}
