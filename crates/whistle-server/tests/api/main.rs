//! Black-box HTTP tests: each test starts the real server on port 0 over a fresh database, with
//! a clock the test controls, and speaks HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod access;
mod citizen;
mod desks;
mod feed;
mod grid;
mod open311;
mod orders;
mod outside;
mod pages;
mod service;
mod whistles;
mod worker;
