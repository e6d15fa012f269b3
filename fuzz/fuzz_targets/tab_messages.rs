//! What other tabs say on the BroadcastChannel or through the storage event (any page of
//! the origin can write there): messages split at NUL bytes, each decoded as the browser
//! does and handed to a signed-in browser machine in turn. Never a panic; whatever decodes
//! encodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::client::{Event, TabMessage};
use vigil_fuzz::{signed_in_client, NOW_MS};

fuzz_target!(|data: &[u8]| {
    let mut client = signed_in_client();
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
