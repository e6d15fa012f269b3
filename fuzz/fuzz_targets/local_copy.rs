//! What the browser reads back from localStorage, which anything on the machine may have
//! written: the envelope of an entry, the decrypted entry, and the browser machine taking
//! the entries it read in. Foreign, expired or corrupt data is refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::client::Event;
use vigil::preserved::{Entry, Envelope, PreservedError};
use vigil_fuzz::{signed_in_client, NOW_MS};

const USER: i64 = 1;

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
    let mut client = signed_in_client();
    client.handle(Event::LocalLoaded {
        now: NOW_MS,
        user: USER,
        entries: vec![entry.clone(), entry],
        unreadable: 1,
    });
});
