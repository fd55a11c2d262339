//! Civil time without a clock: the caller passes seconds since the Unix epoch.
//!
//! SigV4 wants `YYYYMMDDTHHMMSSZ`; the AWS SDKs want `YYYY-MM-DDTHH:MM:SSZ`;
//! the service answers RFC 3339, possibly with fractions or an offset. The
//! conversions are Howard Hinnant's days-from-civil algorithms.

use core::fmt;

/// A point in time, whole seconds since 1970-01-01T00:00:00Z (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

/// A timestamp that is not RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeError;

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SSZ)")
    }
}

impl core::error::Error for TimeError {}

/// Year, month (1-12), day (1-31), hour, minute, second, all in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute, 0 to 59.
    pub minute: u32,
    /// Second, 0 to 60.
    pub second: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl UnixTime {
    /// The civil (UTC) date and time of this instant.
    pub fn civil(self) -> Civil {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` form. Years outside 0..=9999 are clamped.
    pub fn amz_date(self) -> [u8; 16] {
        let c = self.civil();
        let mut out = *b"00000000T000000Z";
        put_digits(&mut out[0..4], c.year.clamp(0, 9999) as u32);
        put_digits(&mut out[4..6], c.month);
        put_digits(&mut out[6..8], c.day);
        put_digits(&mut out[9..11], c.hour);
        put_digits(&mut out[11..13], c.minute);
        put_digits(&mut out[13..15], c.second);
        out
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, the form every AWS SDK accepts.
    pub fn iso8601(self) -> [u8; 20] {
        let c = self.civil();
        let mut out = *b"0000-00-00T00:00:00Z";
        put_digits(&mut out[0..4], c.year.clamp(0, 9999) as u32);
        put_digits(&mut out[5..7], c.month);
        put_digits(&mut out[8..10], c.day);
        put_digits(&mut out[11..13], c.hour);
        put_digits(&mut out[14..16], c.minute);
        put_digits(&mut out[17..19], c.second);
        out
    }

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS`, optional fraction (dropped),
    /// then `Z` or `±HH:MM`. Lower-case `t`/`z` and a space separator are accepted.
    pub fn parse_rfc3339(s: &str) -> Result<UnixTime, TimeError> {
        let b = s.as_bytes();
        if b.len() < 20 {
            return Err(TimeError);
        }
        let num = |r: core::ops::Range<usize>| -> Result<u32, TimeError> {
            let part = b.get(r).ok_or(TimeError)?;
            part.iter().try_fold(0u32, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u32::from(c - b'0'))
                } else {
                    Err(TimeError)
                }
            })
        };
        let sep = |i: usize, ok: &[u8]| -> Result<(), TimeError> {
            if ok.contains(b.get(i).ok_or(TimeError)?) {
                Ok(())
            } else {
                Err(TimeError)
            }
        };
        sep(4, b"-")?;
        sep(7, b"-")?;
        sep(10, b"Tt ")?;
        sep(13, b":")?;
        sep(16, b":")?;
        let (year, month, day) = (i64::from(num(0..4)?), num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(TimeError);
        }
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return Err(TimeError);
            }
        }
        let offset: i64 = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => 0,
            Some(&c @ (b'+' | b'-')) if b.len() == i + 6 => {
                sep(i + 3, b":")?;
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return Err(TimeError);
                }
                let o = i64::from(oh * 3600 + om * 60);
                if c == b'+' { o } else { -o }
            }
            _ => return Err(TimeError),
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second.min(59));
        Ok(UnixTime(secs - offset))
    }
}

fn put_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let t = UnixTime(1_440_938_160); // the SigV4 suite's 20150830T123600Z
        assert_eq!(&t.amz_date(), b"20150830T123600Z");
        assert_eq!(&t.iso8601(), b"2015-08-30T12:36:00Z");
        assert_eq!(&UnixTime(0).iso8601(), b"1970-01-01T00:00:00Z");
        assert_eq!(&UnixTime(951_782_400).iso8601(), b"2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_and_normalises_rfc3339() {
        let z = UnixTime::parse_rfc3339("2015-08-30T12:36:00Z").unwrap();
        assert_eq!(z, UnixTime(1_440_938_160));
        assert_eq!(
            UnixTime::parse_rfc3339("2015-08-30T12:36:00.123456Z").unwrap(),
            z
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2015-08-30T14:36:00+02:00").unwrap(),
            z
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2015-08-30T07:36:00-05:00").unwrap(),
            z
        );
        assert_eq!(UnixTime::parse_rfc3339("2015-08-30t12:36:00z").unwrap(), z);
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2015-08-30",
            "2015-08-30T12:36:00",
            "2015-13-30T12:36:00Z",
            "2015-02-29T12:36:00Z",
            "2015-08-30T24:00:00Z",
            "2015-08-30T12:36:00.Z",
            "2015-08-30T12:36:00+0200",
            "2015-08-30T12:36:00Zjunk",
            "2015-08-3xT12:36:00Z",
        ] {
            assert_eq!(UnixTime::parse_rfc3339(bad), Err(TimeError), "{bad}");
        }
    }

    #[test]
    fn round_trips_over_four_centuries() {
        let mut t = -2_208_988_800i64; // 1900-01-01
        while t < 10_000_000_000 {
            let s = UnixTime(t).iso8601();
            let s = core::str::from_utf8(&s).unwrap();
            assert_eq!(UnixTime::parse_rfc3339(s).unwrap(), UnixTime(t));
            t += 86_400 * 37 + 3_601;
        }
    }
}
