//! RFC 3339 timestamps on the wire (`2026-05-01T12:30:00.25Z`), written and read here rather
//! than by the `time` crate's general formatting and parsing machinery: the browser bundle
//! would carry all of it for this one format, and the server writes several timestamps into
//! every session answer. The output is exactly what `time`'s `Rfc3339` writes (fraction
//! without trailing zeros, `Z` for UTC); any RFC 3339 timestamp is read.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The timestamp as RFC 3339; `None` for what RFC 3339 cannot express (a year outside
/// 0000–9999, an offset with seconds).
pub fn format(at: OffsetDateTime) -> Option<String> {
    Formatted::new(at).map(|text| text.as_str().to_owned())
}

/// An RFC 3339 timestamp written on the stack: the session answer writes several per
/// request, and the serializer only needs to borrow each.
pub struct Formatted {
    bytes: [u8; Self::MAX],
    len: usize,
}

impl Formatted {
    /// `9999-12-31T23:59:59.999999999+23:59`
    const MAX: usize = 35;

    /// `None` for what RFC 3339 cannot express (a year outside 0000–9999, an offset with
    /// seconds).
    pub fn new(at: OffsetDateTime) -> Option<Self> {
        // One conversion each for the date and the time (each accessor converts again).
        let (year, month, day) = at.to_calendar_date();
        let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
        let offset = at.offset();
        if offset.seconds_past_minute() != 0 {
            return None;
        }
        let mut out = Self {
            bytes: [0; Self::MAX],
            len: 0,
        };
        let (hour, minute, second, mut nanos) = at.to_hms_nano();
        out.digits(year, 4);
        out.push(b'-');
        out.digits(u32::from(u8::from(month)), 2);
        out.push(b'-');
        out.digits(u32::from(day), 2);
        out.push(b'T');
        out.digits(u32::from(hour), 2);
        out.push(b':');
        out.digits(u32::from(minute), 2);
        out.push(b':');
        out.digits(u32::from(second), 2);
        if nanos != 0 {
            let mut width = 9;
            while nanos.is_multiple_of(10) {
                nanos /= 10;
                width -= 1;
            }
            out.push(b'.');
            out.digits(nanos, width);
        }
        if offset.is_utc() {
            out.push(b'Z');
        } else {
            out.push(if offset.is_negative() { b'-' } else { b'+' });
            out.digits(u32::from(offset.whole_hours().unsigned_abs()), 2);
            out.push(b':');
            out.digits(u32::from(offset.minutes_past_hour().unsigned_abs()), 2);
        }
        Some(out)
    }

    /// The timestamp as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text's bytes, for writers of JSON that need no `str` (nor its check).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` in exactly `width` decimal digits (it always fits: the callers bound it),
    /// two at a time.
    fn digits(&mut self, mut value: u32, width: usize) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839404142434445464748495051525354555657585960\
            6162636465666768697071727374757677787980818283848586878889909192939495969798\
            99";
        let start = self.len;
        let mut end = start + width;
        self.len = end;
        while end - start >= 2 {
            let pair = (value % 100) as usize * 2;
            self.bytes[end - 2..end].copy_from_slice(&PAIRS[pair..pair + 2]);
            value /= 100;
            end -= 2;
        }
        if end > start {
            self.bytes[start] = b'0' + (value % 10) as u8;
        }
    }
}

/// Reads an RFC 3339 timestamp (`T`/`t`, `Z`/`z`, any offset, a fraction of any length, of
/// which nanoseconds are kept); `None` for anything else, including impossible dates.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = bytes.get(range)?;
        digits.iter().try_fold(0u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let separator =
        |at: usize, expected: &[u8]| bytes.get(at).is_some_and(|b| expected.contains(b));
    if !(separator(4, b"-")
        && separator(7, b"-")
        && separator(10, b"Tt")
        && separator(13, b":")
        && separator(16, b":"))
    {
        return None;
    }
    let year = i32::try_from(number(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let day = u8::try_from(number(8..10)?).ok()?;
    let hour = u8::try_from(number(11..13)?).ok()?;
    let minute = u8::try_from(number(14..16)?).ok()?;
    let second = u8::try_from(number(17..19)?).ok()?;
    let mut rest = bytes.get(19..)?;
    let mut nanos = 0u32;
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, b) in fraction[..digits].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u32::from(b - b'0');
            }
        }
        nanos *= 10u32.pow(9u32.saturating_sub(u32::try_from(digits).ok()?));
        rest = &fraction[digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
            };
            let (hours, minutes) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let sign: i8 = if *sign == b'-' { -1 } else { 1 };
            let hours = i8::try_from(hours).ok()? * sign;
            let minutes = i8::try_from(minutes).ok()? * sign;
            UtcOffset::from_hms(hours, minutes, 0).ok()?
        }
        _ => return None,
    };
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// `#[serde(with = "vigil::timestamp::rfc3339")]`
pub mod rfc3339 {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes `at` as RFC 3339; an error for years RFC 3339 cannot hold.
    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        match super::Formatted::new(*at) {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => Err(serde::ser::Error::custom(
                "the timestamp cannot be written as RFC 3339",
            )),
        }
    }

    /// Reads an RFC 3339 timestamp, refusing any other text.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        super::parse(&text).ok_or_else(|| {
            de::Error::invalid_value(de::Unexpected::Str(&text), &"an RFC 3339 timestamp")
        })
    }

    /// `#[serde(default, with = "vigil::timestamp::rfc3339::option")]`
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        /// Writes `None` as null, otherwise as [`serialize`](super::serialize) does.
        pub fn serialize<S: Serializer>(
            at: &Option<OffsetDateTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads null (or, with `default`, a missing member) as `None`, otherwise as
        /// [`deserialize`](super::deserialize) does.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] OffsetDateTime);
            Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(at)| at))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;
    use time::macros::datetime;

    #[test]
    fn writes_what_the_wire_has_always_carried() {
        assert_eq!(
            format(datetime!(2026-05-01 12:30 UTC)).as_deref(),
            Some("2026-05-01T12:30:00Z")
        );
        assert_eq!(
            format(datetime!(2026-11-30 07:31:48.996547825 UTC)).as_deref(),
            Some("2026-11-30T07:31:48.996547825Z")
        );
        assert_eq!(
            format(datetime!(2026-05-01 12:30:00.25 UTC)).as_deref(),
            Some("2026-05-01T12:30:00.25Z")
        );
        assert_eq!(
            format(datetime!(2026-05-01 12:30 -05:30)).as_deref(),
            Some("2026-05-01T12:30:00-05:30")
        );
        let far = datetime!(9999-12-31 23:00 UTC).to_offset(time::macros::offset!(-02:00));
        assert_eq!(format(far).as_deref(), Some("9999-12-31T21:00:00-02:00"));
        assert_eq!(format(datetime!(-0001-01-01 0:00 UTC)), None);
        assert_eq!(format(datetime!(2026-05-01 12:30 +01:00:30)), None);
    }

    #[test]
    fn reads_any_rfc_3339_and_nothing_else() {
        let at = datetime!(2026-05-01 12:30:00.123 UTC);
        for text in [
            "2026-05-01T12:30:00.123Z",
            "2026-05-01t12:30:00.123z",
            "2026-05-01T12:30:00.123000000000Z",
            "2026-05-01T14:30:00.123+02:00",
            "2026-05-01T10:30:00.123-02:00",
        ] {
            assert_eq!(parse(text), Some(at), "{text}");
        }
        for text in [
            "",
            "2026-05-01",
            "2026-05-01 12:30:00Z",
            "2026-05-01T12:30:00",
            "2026-05-01T12:30:00.Z",
            "2026-02-30T12:30:00Z",
            "2026-13-01T12:30:00Z",
            "2026-05-01T24:00:00Z",
            "2026-05-01T12:60:00Z",
            "2026-05-01T12:30:60Z",
            "2026-05-01T12:30:00+24:00",
            "2026-05-01T12:30:00+02",
            "2026-05-01T12:30:00Zx",
            "+2026-05-01T12:30:00Z",
            "2026-05-01T12:30:00\u{0}Z",
            "２０２６-05-01T12:30:00Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    proptest! {
        /// The same text as the `time` crate writes, and each reads what the other wrote.
        #[test]
        fn agrees_with_the_time_crate(
            seconds in 0i64..253_402_300_799,
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, (0u32..1000).prop_map(|m| m * 1_000_000)],
            offset_minutes in prop_oneof![Just(0i16), -1439i16..=1439],
        ) {
            let offset = UtcOffset::from_whole_seconds(i32::from(offset_minutes) * 60).unwrap_or(UtcOffset::UTC);
            let Ok(at) = OffsetDateTime::from_unix_timestamp(seconds) else { return Ok(()) };
            let at = at.replace_nanosecond(nanos).unwrap_or(at).to_offset(offset);
            prop_assume!((0..=9999).contains(&at.year()));
            let ours = format(at);
            let theirs = at.format(&Rfc3339).ok();
            prop_assert_eq!(ours.as_deref(), theirs.as_deref());
            let text = ours.unwrap_or_default();
            prop_assert_eq!(parse(&text), Some(at));
            prop_assert_eq!(OffsetDateTime::parse(&text, &Rfc3339).ok(), Some(at));
        }

        /// Arbitrary text never panics, and whatever is accepted the `time` crate accepts too.
        #[test]
        fn never_reads_more_than_the_time_crate(text in "[0-9T:.Zz+-]{0,40}|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})") {
            if let Some(at) = parse(&text) {
                prop_assert_eq!(OffsetDateTime::parse(&text, &Rfc3339).ok(), Some(at));
            }
        }
    }
}
