//! Browser-only services (compiled for the `hydrate` feature).

pub mod activity;
pub mod controller;
pub mod preservation;
pub mod refresh_lock;
pub mod tabs;
pub mod time;
