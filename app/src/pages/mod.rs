pub mod account;
pub mod admin;
pub mod login;
pub mod problem_page;
pub mod sessions;
pub mod workspace;
