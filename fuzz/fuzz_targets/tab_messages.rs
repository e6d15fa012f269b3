//! What other tabs say on the BroadcastChannel or through the storage event (any page of
//! the origin can write there): messages split at NUL bytes, each decoded as the browser
//! does and handed to a signed-in browser machine in turn. Never a panic; whatever decodes
//! encodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::client::{Client, Event, TabMessage};
use vigil::SessionInfo;

const NOW_MS: i64 = 1_780_000_000_000;
const SESSION: &str = r#"{"user":{"id":1,"username":"ada","display_name":"Ada"},
  "session_id":"s","created_at":"2026-05-28T20:26:40Z","last_activity_at":"2026-05-28T20:26:40Z",
  "idle_expires_at":"2026-05-28T20:56:40Z","absolute_expires_at":"2026-05-29T04:26:40Z",
  "warn_at":"2026-05-28T20:51:40Z","server_now":"2026-05-28T20:26:40Z",
  "policy":{"idle_timeout_secs":1800,"warning_secs":300,"absolute_timeout_secs":28800,"heartbeat_secs":60},
  "local_key":{"version":1,"key":"a2V5"}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(info) = serde_json::from_str::<SessionInfo>(SESSION) else {
        return;
    };
    let mut client = Client::new();
    client.handle(Event::Started {
        now: NOW_MS,
        cookie: false,
        tab: "tab".into(),
        last_user: None,
    });
    client.handle(Event::SignedIn { now: NOW_MS, info });
    for (i, raw) in data.split(|&b| b == 0).enumerate() {
        let Some(message) = std::str::from_utf8(raw).ok().and_then(TabMessage::decode) else {
            continue;
        };
        assert_eq!(
            TabMessage::decode(&message.encode()).as_ref(),
            Some(&message)
        );
        let now = NOW_MS + 1_000 * i as i64;
        client.handle(Event::Tab { now, message });
    }
});
