//! Integration tests: the real `Router` on real stores (a SQLite file; Postgres and Redis in
//! `make test-shared`), driven with a manual clock.

// A test states what it expects by panicking: `expect` is its assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod assets;
mod attacks;
mod audit;
mod authority;
mod errors;
mod events;
mod hardening;
mod helpers;
mod histories;
mod instances;
mod model;
mod openapi;
mod operations;
mod pages;
mod passkeys;
mod problem_pages;
mod processes;
mod session_lifecycle;
mod sessions;
mod store;
mod store_contract;
mod throttling;
mod timeouts;
mod work;
