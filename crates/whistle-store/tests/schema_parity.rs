//! The two backends' schemas cannot drift: migrate both fresh and compare tables, columns
//! (normalised types and nullability) and indexes. Needs `WHISTLE_TEST_PG_URL` (CI sets it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

fn normalise(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "bigserial" => "int",
        "text" => "text",
        "blob" | "uuid" => "uuid",
        "boolean" => "bool",
        "bytea" => "bytes",
        _ => "other",
    }
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(pg_url) = support::fresh_pg_url().await else {
        eprintln!("schema parity skipped: WHISTLE_TEST_PG_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parity.db");
    whistle_store::open(
        &format!("sqlite://{}", path.display()),
        whistle_store::Migrate::Apply,
    )
    .await
    .unwrap();
    whistle_store::open(&pg_url, whistle_store::Migrate::Apply)
        .await
        .unwrap();

    let mut sqlite_columns = BTreeSet::new();
    let mut sqlite_indexes = BTreeSet::new();
    let connection = rusqlite::Connection::open(&path).unwrap();
    let tables: Vec<String> = {
        let mut statement = connection
            .prepare(
                // The FTS5 virtual table and its shadow tables are SQLite's text index, as
                // order_texts_trgm is PostgreSQL's.
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'order_texts_fts%'",
            )
            .unwrap();
        statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for table in &tables {
        let mut statement = connection
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (column, declared, not_null, primary) = row.unwrap();
            let bytes = column == "data" && declared.eq_ignore_ascii_case("blob");
            sqlite_columns.insert((
                table.clone(),
                column,
                // SQLite declares ids and bytes alike (BLOB); the one bytes column is named `data`.
                if bytes { "bytes" } else { normalise(&declared) },
                not_null == 1 || primary > 0,
            ));
        }
    }
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'")
        .unwrap();
    for name in statement.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        sqlite_indexes.insert(name.unwrap());
    }

    let (client, connection) = tokio_postgres::connect(&pg_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut pg_columns = BTreeSet::new();
    for row in client
        .query(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public'",
            &[],
        )
        .await
        .unwrap()
    {
        let nullable: String = row.get(3);
        pg_columns.insert((row.get::<_, String>(0), row.get::<_, String>(1), normalise(row.get(2)), nullable == "NO"));
    }
    let mut pg_indexes = BTreeSet::new();
    for row in client
        .query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname <> 'order_texts_trgm'", &[])
        .await
        .unwrap()
    {
        pg_indexes.insert(row.get::<_, String>(0));
    }
    assert!(!sqlite_columns.is_empty());
    let only_sqlite: Vec<_> = sqlite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&sqlite_columns).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "columns differ:\n sqlite only {only_sqlite:?}\n postgres only {only_pg:?}"
    );
    assert_eq!(sqlite_indexes, pg_indexes, "indexes differ");
}
