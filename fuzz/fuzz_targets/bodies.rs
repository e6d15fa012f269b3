//! The JSON bodies of the resource endpoints as the server decodes them (drafts, settings,
//! password change), with the checks it runs next. Whatever decodes must survive a round
//! trip; no input may panic the decoder or the checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil::sessions::{PasswordChange, PasswordRule};
use vigil::work::{DraftInput, Preferences};

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = serde_json::from_slice::<DraftInput>(data) {
        let _ = input.check();
        let _ = input.is_blank();
        let again = serde_json::to_vec(&input).unwrap_or_default();
        assert_eq!(
            serde_json::from_slice::<DraftInput>(&again).ok(),
            Some(input)
        );
    }
    if let Ok(settings) = serde_json::from_slice::<Preferences>(data) {
        let again = serde_json::to_vec(&settings).unwrap_or_default();
        assert_eq!(
            serde_json::from_slice::<Preferences>(&again).ok(),
            Some(settings)
        );
    }
    if let Ok(change) = serde_json::from_slice::<PasswordChange>(data) {
        if let Some(rule) =
            PasswordRule::check(&change.new_password, "ada", &change.current_password)
        {
            assert!(!rule.message().is_empty());
        }
    }
});
