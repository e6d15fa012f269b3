pub mod login;
pub mod problem_page;
pub mod workspace;
