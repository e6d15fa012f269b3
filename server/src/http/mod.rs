//! The HTTP edge: the layers every request crosses (request ids, protective headers,
//! client address, CSRF, authentication, problem responses), the accept loop, and the
//! endpoints' implementations.

pub mod assets;
pub mod auth;
pub mod auth_api;
pub mod client_address;
pub mod completion;
pub mod csrf;
pub mod headers;
pub mod health;
pub mod problem;
pub mod serve;
pub mod sessions_api;
pub mod test_hooks;
pub mod work_api;
