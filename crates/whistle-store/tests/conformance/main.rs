//! The storage conformance suite: every test runs on SQLite, and on PostgreSQL when
//! `WHISTLE_TEST_PG_URL` is set (CI sets it), each on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod attachments;
mod concurrency;
mod grid;
mod history;
mod orders;
mod reads;
mod reference;
mod replay;
mod whistles;
