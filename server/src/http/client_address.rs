//! The client's address: the TCP peer, or, when the peer is one of `VIGIL_TRUSTED_PROXIES`,
//! the first untrusted hop of `X-Forwarded-For` (SPEC §2). Resolved once per request by a
//! layer, so sign-in throttling, the audit log and the session's device summary agree.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use thiserror::Error;

pub use crate::session::ClientAddress;

const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

#[derive(Debug, Error)]
#[error("`{0}` is not an IP address or a CIDR block like 10.0.0.0/8 or fd00::/8")]
pub struct ProxyListError(String);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A list of CIDR blocks or single addresses, separated by commas or spaces.
    pub fn parse(list: &str) -> Result<Self, ProxyListError> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| ProxyListError(item.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Walks `X-Forwarded-For` from the right while the hops are trusted proxies; the first
    /// untrusted hop is the client. A hop that is not an address ends the walk at the last
    /// trusted one: a forged or garbled header can make the answer stricter, never someone
    /// else's.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops = headers
            .get_all(FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:567`, `2001:db8::1` or `[2001:db8::1]:567`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

/// Puts the [`ClientAddress`] of every request into its extensions (a map of the request in
/// the stack, not a `from_fn` middleware, which would box the rest of the stack per request).
pub fn resolve_client_address<B>(
    proxies: &TrustedProxies,
    mut request: http::Request<B>,
) -> http::Request<B> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(peer) = peer {
        let address = proxies.client_address(peer, request.headers());
        request.extensions_mut().insert(ClientAddress(address));
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn xff(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(FORWARDED_FOR, HeaderValue::from_static(value));
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap_or_default();
        assert_eq!(
            proxies.client_address(ip("203.0.113.9"), &xff("198.51.100.1")),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_address(ip("10.0.0.1"), &xff("198.51.100.1")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap_or_default();
        // The client forged the leftmost entry; the proxies appended the real ones.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &xff("1.1.1.1, 198.51.100.7, 192.168.1.1")),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &xff("[2001:db8::5]:4711")),
            ip("2001:db8::5")
        );
        // Only proxies: the leftmost is the best we know.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &xff("10.1.1.1")),
            ip("10.1.1.1")
        );
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(
            proxies.client_address(ip("10.0.0.2"), &xff("198.51.100.7, not-an-ip")),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn mapped_ipv4_addresses_are_ipv4() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap_or_default();
        assert_eq!(
            proxies.client_address(ip("::ffff:127.0.0.1"), &xff("198.51.100.7")),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_list_names_what_it_cannot_read() {
        let err = TrustedProxies::parse("10.0.0.0/8, nonsense").map(|_| ());
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err(
                "`nonsense` is not an IP address or a CIDR block like 10.0.0.0/8 or fd00::/8"
                    .into()
            )
        );
        assert!(TrustedProxies::parse("").is_ok_and(|p| p.is_empty()));
    }
}
