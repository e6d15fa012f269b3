//! Vigil's server: the authority on sessions.

// Leptos view types nest deeply; release builds (without erase_components) need headroom.
#![recursion_limit = "256"]

pub mod administration;
pub mod audit;
pub mod cli;
pub mod configuration;
pub mod db;
pub mod events;
pub mod http;
pub mod identity;
pub mod maintenance;
pub mod metrics;
pub mod passkeys;
pub mod redis_connection;
pub mod session;
pub mod site;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod work;
