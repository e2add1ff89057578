//! Who the client is, by address: the connection's peer, or, when the peer is one of
//! `UPLINK_TRUSTED_PROXIES`, the address that proxy says it forwarded for.
//!
//! Behind a proxy every connection comes from the proxy, so per-client limits (logins,
//! registrations, connections) would lump every client together. `X-Forwarded-For` is
//! believed only from the proxies listed, and read from the right: each trusted hop
//! appends the address it received from, so the first address from the right that is not
//! a trusted proxy is the client. Anything further left was written by the client and
//! proves nothing.

use std::{
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{request::Parts, HeaderMap},
};
use ipnet::IpNet;

use super::listener::ClientAddr;
use crate::http::state::AppState;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and CIDR ranges: `10.0.0.0/8, ::1`.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let net = IpNet::from_str(item)
                .or_else(|_| IpAddr::from_str(item).map(IpNet::from))
                .map_err(|_| format!("not an address or CIDR range: {item:?}"))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }
}

impl TrustedProxies {
    pub fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client behind a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim);
        let mut client = peer;
        for hop in hops.collect::<Vec<_>>().into_iter().rev() {
            // Unreadable: written by someone we cannot vouch for; the last hop we could
            // read is the best we know.
            let Some(addr) = parse_hop(hop) else { return client };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// `1.2.3.4`, `2001:db8::1`, or either with a port (`1.2.3.4:80`, `[2001:db8::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    IpAddr::from_str(hop)
        .or_else(|_| SocketAddr::from_str(hop).map(|socket| socket.ip()))
        .ok()
        .map(canonical)
}

/// What a client's per-client limits are counted under: its IPv4 address, or the /64
/// network of its IPv6 address. One subscriber is usually given a whole /64, so counting
/// single IPv6 addresses would give one client 2^64 allowances.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match canonical(addr) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !(u128::MAX >> 64)).into()),
        v4 => v4,
    }
}

/// An IPv4 client seen on an IPv6 socket (`::ffff:1.2.3.4`) is that IPv4 client.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The requesting client, as its per-client limits know it ([`client_key`]); `None` only
/// in router-only tests, which have no connection.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<ClientAddr>>().map(|info| info.0 .0.ip());
        let client = peer.map(|peer| state.trusted_proxies.client(canonical(peer), &parts.headers));
        Ok(Self(client.map(client_key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies_read_from_the_right() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.168.1.7".parse().unwrap();
        let headers = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
            }
            headers
        };
        let cases = [
            // Not from a proxy: the header is the client's own claim.
            ("203.0.113.9", vec!["1.1.1.1"], "203.0.113.9"),
            ("192.168.1.7", vec![], "192.168.1.7"),
            ("192.168.1.7", vec!["198.51.100.4"], "198.51.100.4"),
            // A forged entry on the left is skipped; two trusted hops are walked through.
            ("10.1.2.3", vec!["6.6.6.6, 198.51.100.4, 10.9.9.9"], "198.51.100.4"),
            ("10.1.2.3", vec!["6.6.6.6", "198.51.100.4:5123"], "198.51.100.4"),
            ("10.1.2.3", vec!["[2001:db8::5]:443"], "2001:db8::5"),
            // Garbage where the proxy should have written: the last hop vouched for.
            ("10.1.2.3", vec!["198.51.100.4, not-an-ip"], "10.1.2.3"),
            ("10.1.2.3", vec!["10.4.4.4"], "10.4.4.4"),
        ];
        for (peer, values, client) in cases {
            assert_eq!(
                trusted.client(ip(peer), &headers(&values)),
                ip(client),
                "{peer} {values:?}"
            );
        }
        assert!(trusted.trusts(ip("::ffff:10.0.0.1")), "IPv4-mapped addresses are IPv4");
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"), "IPv6 by /64");
        assert_eq!(client_key(ip("::ffff:198.51.100.4")), ip("198.51.100.4"));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("".parse::<TrustedProxies>().unwrap().0.is_empty());
    }
}
