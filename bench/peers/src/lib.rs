//! Shared by the peers: where to listen.

/// `PEER_ADDR`, or a default for running one by hand.
pub fn listen_addr() -> String {
    std::env::var("PEER_ADDR").unwrap_or_else(|_| "127.0.0.1:3390".to_owned())
}
