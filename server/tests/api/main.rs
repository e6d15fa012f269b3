//! Integration tests: the real `Router` on a real SQLite file, driven with a manual clock.

mod attacks;
mod audit;
mod errors;
mod hardening;
mod helpers;
mod problem_pages;
mod session_lifecycle;
mod store;
mod throttling;
mod timeouts;
mod work;
