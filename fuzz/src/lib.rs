//! What several fuzz targets share: a browser machine signed in as Ada, to take in what the
//! fuzzer makes up.

use vigil::client::{Client, Event};
use vigil::SessionInfo;

pub const NOW_MS: i64 = 1_780_000_000_000;

const SESSION: &str = r#"{"user":{"id":1,"username":"ada","display_name":"Ada"},
  "session_id":"s","created_at":"2026-05-28T20:26:40Z","last_activity_at":"2026-05-28T20:26:40Z",
  "idle_expires_at":"2026-05-28T20:56:40Z","absolute_expires_at":"2026-05-29T04:26:40Z",
  "warn_at":"2026-05-28T20:51:40Z","server_now":"2026-05-28T20:26:40Z",
  "policy":{"idle_timeout_secs":1800,"warning_secs":300,"absolute_timeout_secs":28800,"heartbeat_secs":60},
  "local_key":{"version":1,"key":"a2V5"}}"#;

/// A started page on which user 1 just signed in. A session above that no longer decodes is
/// a broken harness, reported at the first input as a crash.
pub fn signed_in_client() -> Client {
    let info = serde_json::from_str::<SessionInfo>(SESSION).expect("the fixture session decodes");
    let mut client = Client::new();
    client.handle(Event::Started {
        now: NOW_MS,
        cookie: false,
        tab: "tab".into(),
        last_user: None,
    });
    client.handle(Event::SignedIn { now: NOW_MS, info });
    client
}
