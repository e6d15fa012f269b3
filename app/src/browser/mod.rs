//! Browser-only services (compiled for the `hydrate` feature): the shell that runs the
//! browser machine, and the browser APIs it uses.

pub mod activity;
pub mod controller;
pub mod crypto;
pub mod events;
pub mod http;
pub mod hydration;
pub mod loader;
pub mod local_copy;
pub mod passkeys;
pub mod refresh_lock;
pub mod tabs;
pub mod time;
