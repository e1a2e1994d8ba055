//! The raw-database limit for the engine benchmark: the same rows a lifecycle writes (one order
//! insert, six order updates, seven event inserts), written directly with the same durability
//! (SQLite WAL + synchronous=FULL; PostgreSQL default synchronous_commit) and the same
//! transaction size, without decoding state, deciding or validating anything.

use rusqlite::params;
use std::time::{Duration, Instant};

use crate::types::StoreError;

/// A projection-sized state document (the engine's are ~1.5 KB).
fn state_text() -> String {
    format!("{{\"pad\":\"{}\"}}", "x".repeat(1400))
}

const PAYLOAD: &str =
    "{\"event\":\"accepted\",\"note\":\"bench payload of a typical size for an event\"}";

/// Writes `lifecycles` lifecycles in transactions of `batch` commands; returns the elapsed time.
pub fn sqlite(
    path: &std::path::Path,
    lifecycles: usize,
    batch: usize,
) -> Result<Duration, StoreError> {
    let mut connection = rusqlite::Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    let state = state_text();
    let commands = lifecycles * 7;
    let ids: Vec<[u8; 16]> = (0..lifecycles)
        .map(|_| *uuid::Uuid::now_v7().as_bytes())
        .collect();
    let start = Instant::now();
    let mut done = 0;
    while done < commands {
        let tx = connection.transaction()?;
        {
            let mut insert_order = tx.prepare_cached(
                "INSERT INTO orders (id, no, version, stage, request_type, channel, category, urgency, district, street, \
                 community, lead_unit, received_at, respond_by, handle_by, next_due_at, closed_at, excluded, state) \
                 VALUES (?1, ?2, 1, 'pending_dispatch', 'complaint', 'phone', '11.04.01', 'normal', '110105', '110105010', \
                 NULL, NULL, ?3, NULL, NULL, NULL, NULL, 0, ?4)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE orders SET version = ?2, stage = 'accepted', lead_unit = '110105010', respond_by = ?3, \
                 handle_by = ?3, next_due_at = ?3, closed_at = NULL, excluded = 0, state = ?4 WHERE id = ?1",
            )?;
            let mut event = tx.prepare_cached(
                "INSERT INTO events (order_id, seq, at, actor_user, actor_unit, kind, payload) VALUES (?1, ?2, ?3, 'bench', '11.center', 'accepted', ?4)",
            )?;
            let end = (done + batch).min(commands);
            for command in done..end {
                let lifecycle = command / 7;
                let step = (command % 7) as i64;
                let id = &ids[lifecycle][..];
                let now = 1_700_000_000_000 + command as i64;
                if step == 0 {
                    insert_order.execute(params![id, format!("raw-{lifecycle}"), now, state])?;
                } else {
                    update.execute(params![id, step + 1, now, state])?;
                }
                event.execute(params![id, step + 1, now, PAYLOAD])?;
            }
            done = end;
        }
        tx.commit()?;
    }
    Ok(start.elapsed())
}

/// The same on PostgreSQL, with one row-at-a-time statement per row as a plain client would.
pub async fn postgres(url: &str, lifecycles: usize, batch: usize) -> Result<Duration, StoreError> {
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let state = state_text();
    let commands = lifecycles * 7;
    let ids: Vec<uuid::Uuid> = (0..lifecycles).map(|_| uuid::Uuid::now_v7()).collect();
    let start = Instant::now();
    let mut done = 0;
    while done < commands {
        let tx = client.transaction().await?;
        let insert_order = tx
            .prepare(
                "INSERT INTO orders (id, no, version, stage, request_type, channel, category, urgency, district, street, \
                 community, lead_unit, received_at, respond_by, handle_by, next_due_at, closed_at, excluded, state) \
                 VALUES ($1, $2, 1, 'pending_dispatch', 'complaint', 'phone', '11.04.01', 'normal', '110105', '110105010', \
                 NULL, NULL, $3, NULL, NULL, NULL, NULL, false, $4)",
            )
            .await?;
        let update = tx
            .prepare(
                "UPDATE orders SET version = $2, stage = 'accepted', lead_unit = '110105010', respond_by = $3, \
                 handle_by = $3, next_due_at = $3, closed_at = NULL, excluded = false, state = $4 WHERE id = $1",
            )
            .await?;
        let event = tx
            .prepare(
                "INSERT INTO events (order_id, seq, at, actor_user, actor_unit, kind, payload) VALUES ($1, $2, $3, 'bench', '11.center', 'accepted', $4)",
            )
            .await?;
        let end = (done + batch).min(commands);
        // Pipelined: all statements of the transaction are sent without waiting for each reply.
        let mut pending = Vec::new();
        for command in done..end {
            let lifecycle = command / 7;
            let step = (command % 7) as i64;
            let id = ids[lifecycle];
            let now = 1_700_000_000_000 + command as i64;
            let no = format!("raw-{lifecycle}");
            let tx = &tx;
            let (insert_order, update, event, state) = (&insert_order, &update, &event, &state);
            pending.push(async move {
                if step == 0 {
                    tx.execute(insert_order, &[&id, &no, &now, state]).await?;
                } else {
                    tx.execute(update, &[&id, &(step + 1), &now, state]).await?;
                }
                tx.execute(event, &[&id, &(step + 1), &now, &PAYLOAD]).await
            });
        }
        for result in futures_join(pending).await {
            result?;
        }
        tx.commit().await?;
        done = end;
    }
    Ok(start.elapsed())
}

/// Runs futures concurrently on one task (they share one connection, so this pipelines).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::with_capacity(futures.len());
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (index, future) in pinned.iter_mut().enumerate() {
            if outputs[index].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => outputs[index] = Some(output),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    set.extend(outputs.into_iter().flatten());
    set
}
