//! What the browser reads back from localStorage, which anything on the machine may have
//! written: the envelope of an entry, the decrypted entry, and the browser machine taking
//! the entries it read in. Foreign, expired or corrupt data is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::client::{Client, Event};
use vigil::preserved::{Entry, Envelope, PreservedError};
use vigil::SessionInfo;

const USER: i64 = 1;
const NOW_MS: i64 = 1_780_000_000_000;
const SESSION: &str = r#"{"user":{"id":1,"username":"ada","display_name":"Ada"},
  "session_id":"s","created_at":"2026-05-28T20:26:40Z","last_activity_at":"2026-05-28T20:26:40Z",
  "idle_expires_at":"2026-05-28T20:56:40Z","absolute_expires_at":"2026-05-29T04:26:40Z",
  "warn_at":"2026-05-28T20:51:40Z","server_now":"2026-05-28T20:26:40Z",
  "policy":{"idle_timeout_secs":1800,"warning_secs":300,"absolute_timeout_secs":28800,"heartbeat_secs":60},
  "local_key":{"version":1,"key":"a2V5"}}"#;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        match Envelope::decode(raw, USER, NOW_MS) {
            Ok(envelope) => {
                assert_eq!(envelope.user_id, USER);
                assert!(NOW_MS < envelope.expires_at);
                let _ = envelope.sealed();
            }
            Err(PreservedError::Corrupt(_) | PreservedError::UnsupportedVersion(_))
            | Err(PreservedError::ForeignUser | PreservedError::Expired) => {}
            Err(PreservedError::UnknownKey) => unreachable!("decoding never looks at keys"),
        }
        let _ = Envelope::is_expired(raw, NOW_MS);
    }
    let Ok(entry) = Entry::from_json(data) else {
        return;
    };
    let _ = entry.storage_key(USER);
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
    client.handle(Event::LocalLoaded {
        now: NOW_MS,
        user: USER,
        entries: vec![entry.clone(), entry],
        unreadable: 1,
    });
});
