//! Vigil's server: the authority on sessions.

// Leptos view types nest deeply; release builds (without erase_components) need headroom.
#![recursion_limit = "256"]

pub mod audit;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod configuration;
pub mod cookies;
pub mod csrf;
pub mod db;
pub mod problem;
pub mod rate_limit;
pub mod secret;
pub mod session;
pub mod session_service;
pub mod session_store;
pub mod startup;
pub mod state;
pub mod sweeper;
pub mod telemetry;
pub mod test_clock;
pub mod token;
pub mod users;
