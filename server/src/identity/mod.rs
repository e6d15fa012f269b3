//! Who people are: accounts and their passwords, and the throttling that keeps password
//! guessing slow without locking the owner out.

pub mod throttle;
pub mod users;
