//! UTC timestamps with millisecond precision, written as RFC 3339 on the wire.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// Serialized as an RFC 3339 string with millisecond precision and a `Z` offset
/// (`"2026-11-24T16:18:20.123Z"`); parsing also accepts other offsets and any
/// 1 to 9 fractional digits (kept to the millisecond) and offsets `Z`,
/// `+hh:mm` and `-hh:mm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The current time from the system clock (the epoch if the clock is before it).
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// This timestamp moved forward by `d` (saturating).
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// Time elapsed from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }
}

// Howard Hinnant's civil-from-days / days-from-civil algorithms (public domain).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = (self.0 / 1000) as i64;
        let millis = self.0 % 1000;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60
        )
    }
}

fn bad(input: &str, why: &str) -> Error {
    Error::InvalidTimestamp {
        input: input.chars().take(64).collect(),
        reason: why.to_string(),
    }
}

fn digits(s: &str, input: &str) -> Result<u32, Error> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(input, "expected digits"));
    }
    s.parse().map_err(|_| bad(input, "number out of range"))
}

impl FromStr for Timestamp {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        if !s.is_ascii() || s.len() < 20 {
            return Err(bad(input, "not an RFC 3339 date-time"));
        }
        let b = s.as_bytes();
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return Err(bad(input, "expected YYYY-MM-DDTHH:MM:SS"));
        }
        if b[13] != b':' || b[16] != b':' {
            return Err(bad(input, "expected HH:MM:SS"));
        }
        let year = digits(&s[0..4], input)?;
        let month = digits(&s[5..7], input)?;
        let day = digits(&s[8..10], input)?;
        let hour = digits(&s[11..13], input)?;
        let min = digits(&s[14..16], input)?;
        let sec = digits(&s[17..19], input)?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 {
            return Err(bad(input, "field out of range"));
        }
        if sec > 60 {
            return Err(bad(input, "seconds out of range"));
        }
        let mut rest = &s[19..];
        let mut millis = 0u64;
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return Err(bad(input, "empty fraction"));
            }
            if n > 9 {
                return Err(bad(input, "more than 9 fractional digits"));
            }
            // Only the fraction's digits (never the offset after them), kept
            // to the millisecond: ".5" is 500 ms, ".05" 50 ms, ".0509" 50 ms.
            millis = frac.as_bytes()[..n]
                .iter()
                .chain(std::iter::repeat(&b'0'))
                .take(3)
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            rest = &frac[n..];
        }
        let offset_secs: i64 = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') => {
                let oh = i64::from(digits(&rest[1..3], input)?);
                let om = i64::from(digits(&rest[4..6], input)?);
                if rest.as_bytes()[3] != b':' || oh > 23 || om > 59 {
                    return Err(bad(input, "bad UTC offset"));
                }
                let sign = if rest.starts_with('-') { -1 } else { 1 };
                sign * (oh * 3600 + om * 60)
            }
            _ => return Err(bad(input, "missing or bad UTC offset")),
        };
        let days = days_from_civil(i64::from(year), month, day);
        let (cy, cm, cd) = civil_from_days(days);
        if (cy, cm, cd) != (i64::from(year), month, day) {
            return Err(bad(input, "no such calendar day"));
        }
        let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec.min(59)) - offset_secs;
        if secs < 0 {
            return Err(bad(input, "before the Unix epoch"));
        }
        Ok(Timestamp(secs as u64 * 1000 + millis))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_rfc3339() {
        let t = Timestamp::from_millis(1_795_537_100_123);
        let s = t.to_string();
        assert_eq!(s, "2026-11-24T16:18:20.123Z");
        assert_eq!(s.parse::<Timestamp>().unwrap(), t);
        assert_eq!(Timestamp::from_millis(0).to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let a: Timestamp = "2026-11-24T17:18:20.1234567+01:00".parse().unwrap();
        let b: Timestamp = "2026-11-24T16:18:20.123Z".parse().unwrap();
        assert_eq!(a, b);
        let c: Timestamp = "2024-02-29T00:00:00Z".parse().unwrap();
        assert_eq!(c.to_string(), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn short_fractions_before_an_offset() {
        let cases = [
            ("2026-01-01T10:00:00.5+01:00", "2026-01-01T09:00:00.500Z"),
            ("2026-01-01T10:00:00.05-02:30", "2026-01-01T12:30:00.050Z"),
            ("2026-01-01T10:00:00.123456789Z", "2026-01-01T10:00:00.123Z"),
            ("2026-01-01T10:00:00.9z", "2026-01-01T10:00:00.900Z"),
            ("2026-01-01T10:00:00+00:00", "2026-01-01T10:00:00.000Z"),
            ("2026-01-01T00:30:00.1+01:00", "2025-12-31T23:30:00.100Z"),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Timestamp>().unwrap().to_string(), want, "{input}");
        }
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for s in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-11-24T16:18:20",
            "2026-11-24T16:18:20.Z",
            "1969-12-31T23:59:59Z",
            "2026-11-24T16:18:20.1234567890Z",
            "2026-11-24T16:18:20.5+1:00",
            "2026-11-24T16:18:20.5+01:0x",
            "2026-11-24T16:18:20.5+0100",
        ] {
            let err = s.parse::<Timestamp>().unwrap_err();
            assert!(err.to_string().contains("timestamp"), "{s}: {err}");
        }
    }
}
