//! Integration tests: the real `Router` on real stores (a SQLite file; Postgres and Redis in
//! `make test-shared`), driven with a manual clock.

mod assets;
mod attacks;
mod audit;
mod errors;
mod hardening;
mod helpers;
mod instances;
mod openapi;
mod problem_pages;
mod session_lifecycle;
mod sessions;
mod store;
mod throttling;
mod timeouts;
mod work;
