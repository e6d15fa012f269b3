//! How a session is shown to its owner (SPEC §8): the device from the user agent it signed
//! in with, and the address it came from with its last part hidden.

use std::net::IpAddr;

/// Browser and operating system as people name them ("Firefox 133", "Linux"), by woothee's
/// maintained rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub browser: Option<String>,
    pub os: Option<String>,
}

impl Device {
    pub fn of(user_agent: Option<&str>) -> Self {
        let parsed = user_agent.and_then(|agent| woothee::parser::Parser::new().parse(agent));
        let known = |value: &str| !value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN;
        let Some(parsed) = parsed else {
            return Self {
                browser: None,
                os: None,
            };
        };
        let browser = known(parsed.name).then(|| {
            let major = parsed.version.split('.').next().unwrap_or_default();
            if known(major) && major.starts_with(|c: char| c.is_ascii_digit()) {
                format!("{} {major}", parsed.name)
            } else {
                parsed.name.to_owned()
            }
        });
        let os = known(parsed.os).then(|| parsed.os.to_owned());
        Self { browser, os }
    }

    /// "Firefox 133 on Linux", or what is known of it.
    pub fn summary(&self) -> String {
        match (&self.browser, &self.os) {
            (Some(browser), Some(os)) => format!("{browser} on {os}"),
            (Some(browser), None) => browser.clone(),
            (None, Some(os)) => format!("A browser on {os}"),
            (None, None) => "Unknown device".to_owned(),
        }
    }
}

/// Enough of an address to recognise a place, not to locate a person: IPv4 without its last
/// byte (`203.0.113.x`), IPv6 with its /48 network only (`2001:db8:1::/48`).
pub fn masked_address(address: &str) -> Option<String> {
    match address.parse::<IpAddr>().ok()?.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.x"))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_browsers_and_systems() {
        let firefox = Device::of(Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ));
        assert_eq!(firefox.summary(), "Firefox 133 on Linux");
        let chrome = Device::of(Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/131.0.0.0 Safari/537.36",
        ));
        assert_eq!(chrome.browser.as_deref(), Some("Chrome 131"));
        assert!(chrome
            .os
            .as_deref()
            .is_some_and(|os| os.starts_with("Windows")));
        let iphone = Device::of(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 \
             (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        ));
        assert_eq!(iphone.os.as_deref(), Some("iPhone"));
        assert_eq!(Device::of(Some("curl/8.5.0")).summary(), "HTTP Library");
        assert_eq!(Device::of(Some("")).summary(), "Unknown device");
        assert_eq!(Device::of(None).summary(), "Unknown device");
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            masked_address("203.0.113.77").as_deref(),
            Some("203.0.113.x")
        );
        assert_eq!(
            masked_address("2001:db8:1:2:3:4:5:6").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(
            masked_address("::ffff:10.1.2.3").as_deref(),
            Some("10.1.2.x")
        );
        assert_eq!(masked_address("not an address"), None);
    }
}
