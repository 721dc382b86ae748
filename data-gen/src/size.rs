//! Human-readable byte sizes: parsing ("64MiB", "1.5 GB") and compact formatting.

use thiserror::Error;

/// Why a size text was rejected by [`parse_size`]. Every message names the bad
/// text and shows an accepted example.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SizeError {
    /// The text was empty or only whitespace.
    #[error("empty size: expected a number of bytes with an optional unit, e.g. \"64MiB\"")]
    Empty,
    /// The number part is missing or malformed.
    #[error(
        "invalid size {text:?}: expected a number with an optional unit, e.g. \"100\", \"1.5GiB\" or \"2 MB\""
    )]
    InvalidNumber {
        /// The text as given.
        text: String,
    },
    /// The unit after the number is not one we know.
    #[error(
        "invalid size {text:?}: unknown unit {unit:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. \"64MiB\")"
    )]
    UnknownUnit {
        /// The text as given.
        text: String,
        /// The unit part of the text.
        unit: String,
    },
    /// The size is not a whole number of bytes (e.g. "1.5B").
    #[error(
        "invalid size {text:?}: not a whole number of bytes (e.g. \"1.5KiB\" = 1536 bytes is fine)"
    )]
    Fractional {
        /// The text as given.
        text: String,
    },
    /// The size does not fit in 64 bits.
    #[error("invalid size {text:?}: larger than 2^64-1 bytes (e.g. \"1TiB\" is fine)")]
    Overflow {
        /// The text as given.
        text: String,
    },
}

/// Units from largest to smallest; binary before decimal of the same prefix
/// because 1 KiB > 1 KB. [`format_size`] picks the first exact one.
const UNITS: [(u64, &str); 8] = [
    (1 << 40, "TiB"),
    (1_000_000_000_000, "TB"),
    (1 << 30, "GiB"),
    (1_000_000_000, "GB"),
    (1 << 20, "MiB"),
    (1_000_000, "MB"),
    (1 << 10, "KiB"),
    (1_000, "KB"),
];

/// Below this many bytes an inexact size is printed as a plain byte count.
const PLAIN_BYTES_BELOW: u64 = 10_000;

/// Most fractional digits accepted by [`parse_size`] (keeps the arithmetic in `u128`).
const MAX_FRACTION_DIGITS: usize = 24;

/// Parses a human size such as `"100"`, `"100B"`, `"1KB"` (1000), `"1KiB"` (1024),
/// `"1.5GiB"` or `"2 MB"`.
///
/// Units are case-insensitive: B, KB, MB, GB, TB (powers of 1000; K, M, G, T alone
/// mean the same) and KiB, MiB, GiB, TiB (powers of 1024). A space may separate
/// the number from the unit. The result must be a whole number of bytes.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SizeError::Empty);
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = (&trimmed[..split], trimmed[split..].trim_start());
    let invalid_number = || SizeError::InvalidNumber {
        text: text.to_owned(),
    };

    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || (number.contains('.') && fraction.is_empty())
        || fraction.len() > MAX_FRACTION_DIGITS
    {
        return Err(invalid_number());
    }
    let multiplier = unit_multiplier(unit).ok_or_else(|| SizeError::UnknownUnit {
        text: text.to_owned(),
        unit: unit.to_owned(),
    })?;

    let overflow = || SizeError::Overflow {
        text: text.to_owned(),
    };
    let whole: u128 = whole.parse().map_err(|_| overflow())?;
    let multiplier = u128::from(multiplier);
    let mut bytes = whole.checked_mul(multiplier).ok_or_else(overflow)?;
    if !fraction.is_empty() {
        let scale = 10u128.pow(fraction.len() as u32);
        // At most 24 digits times at most 2^40 stays far below u128::MAX.
        let scaled: u128 = fraction.parse::<u128>().map_err(|_| invalid_number())? * multiplier;
        if !scaled.is_multiple_of(scale) {
            return Err(SizeError::Fractional {
                text: text.to_owned(),
            });
        }
        bytes = bytes.checked_add(scaled / scale).ok_or_else(overflow)?;
    }
    u64::try_from(bytes).map_err(|_| overflow())
}

/// The number of bytes one `unit` stands for, if it is a known unit.
fn unit_multiplier(unit: &str) -> Option<u64> {
    let multiplier = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    Some(multiplier)
}

/// Formats a byte count compactly, exactly when possible: `100` -> `"100B"`,
/// `1000` -> `"1KB"`, `1024` -> `"1KiB"`, `1536` -> `"1.5KiB"`.
///
/// The largest unit that represents the value exactly with at most two
/// decimals wins. Other values below 10,000 are printed in bytes (`"1001B"`);
/// larger ones are rounded to two decimals in decimal units (`"1.23MB"`), where
/// the kept trailing zeros (`"1.00MB"`) mark the value as approximate.
pub fn format_size(bytes: u64) -> String {
    let exact = UNITS
        .iter()
        .find(|&&(unit, _)| bytes >= unit && (u128::from(bytes) * 100) % u128::from(unit) == 0);
    if let Some(&(unit, name)) = exact {
        let hundredths = u128::from(bytes) * 100 / u128::from(unit);
        let (whole, fraction) = (hundredths / 100, hundredths % 100);
        return match fraction {
            0 => format!("{whole}{name}"),
            f if f % 10 == 0 => format!("{whole}.{}{name}", f / 10),
            f => format!("{whole}.{f:02}{name}"),
        };
    }
    if bytes < PLAIN_BYTES_BELOW {
        return format!("{bytes}B");
    }
    let &(unit, name) = UNITS
        .iter()
        .find(|&&(unit, name)| !name.ends_with("iB") && bytes >= unit)
        .unwrap_or(&UNITS[UNITS.len() - 1]);
    let hundredths = (u128::from(bytes) * 100 + u128::from(unit) / 2) / u128::from(unit);
    format!("{}.{:02}{name}", hundredths / 100, hundredths % 100)
}

/// Formats `bytes` so that the text always parses back to exactly `bytes`:
/// [`format_size`] when that is exact, otherwise the plain byte count.
pub(crate) fn exact_size_label(bytes: u64) -> String {
    let compact = format_size(bytes);
    if parse_size(&compact) == Ok(bytes) {
        compact
    } else {
        format!("{bytes}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_spellings() {
        let cases = [
            ("100", 100),
            ("100B", 100),
            ("100b", 100),
            ("1KB", 1_000),
            ("1kB", 1_000),
            ("1K", 1_000),
            ("1KiB", 1_024),
            ("1kib", 1_024),
            ("64MiB", 64 << 20),
            ("1GB", 1_000_000_000),
            ("1g", 1_000_000_000),
            ("1.5GiB", 3 << 29),
            ("2 MB", 2_000_000),
            ("  7 tb ", 7_000_000_000_000),
            ("1TiB", 1 << 40),
            ("1.23MB", 1_230_000),
            ("0", 0),
            ("18446744073709551615", u64::MAX),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_size(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_bad_text_with_typed_errors() {
        assert_eq!(parse_size("  "), Err(SizeError::Empty));
        for text in ["MB", "1.2.3KB", "1.KB", ".5KB", "-1", "+3", "1e6"] {
            let expected = match text {
                "1e6" => SizeError::UnknownUnit {
                    text: text.into(),
                    unit: "e6".into(),
                },
                _ => SizeError::InvalidNumber { text: text.into() },
            };
            assert_eq!(parse_size(text), Err(expected), "{text}");
        }
        assert_eq!(
            parse_size("3 parsecs"),
            Err(SizeError::UnknownUnit {
                text: "3 parsecs".into(),
                unit: "parsecs".into()
            })
        );
        assert_eq!(
            parse_size("1.5B"),
            Err(SizeError::Fractional {
                text: "1.5B".into()
            })
        );
        assert_eq!(
            parse_size("1.0001KB"),
            Err(SizeError::Fractional {
                text: "1.0001KB".into()
            })
        );
        assert_eq!(
            parse_size("20000000TB"),
            Err(SizeError::Overflow {
                text: "20000000TB".into()
            })
        );
        assert_eq!(
            parse_size("18446744073709551616"),
            Err(SizeError::Overflow {
                text: "18446744073709551616".into()
            })
        );
    }

    #[test]
    fn error_messages_name_the_text_and_an_example() {
        for text in ["abc", "3 parsecs", "1.5B", "99999999TB"] {
            let message = parse_size(text).unwrap_err().to_string();
            assert!(message.contains(&format!("{text:?}")), "{message}");
            assert!(message.contains("e.g."), "{message}");
        }
        assert!(SizeError::Empty.to_string().contains("e.g."));
    }

    #[test]
    fn formats_compactly() {
        let cases = [
            (0, "0B"),
            (100, "100B"),
            (999, "999B"),
            (1_000, "1KB"),
            (1_001, "1001B"),
            (1_024, "1KiB"),
            (1_536, "1.5KiB"),
            (1_500, "1.5KB"),
            (1_010, "1.01KB"),
            (1_000_000, "1MB"),
            (64 << 20, "64MiB"),
            (3 << 29, "1.5GiB"),
            (1_000_000_000_000, "1TB"),
            (1_234_567, "1.23MB"),
            (1_000_001, "1.00MB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(format_size(bytes), expected, "{bytes}");
        }
    }

    #[test]
    fn nice_sizes_round_trip_through_format() {
        let mut nice = vec![0, 1, 99, 1_001];
        nice.extend((0..20).map(|power| 10u64.pow(power)));
        nice.extend((1..19).map(|power| 15 * 10u64.pow(power - 1)));
        nice.extend((0..64).map(|shift| 1u64 << shift));
        nice.extend((1..63).map(|shift| 3u64 << (shift - 1)));
        for bytes in nice {
            let text = format_size(bytes);
            assert_eq!(parse_size(&text), Ok(bytes), "{bytes} -> {text}");
        }
    }

    #[test]
    fn exact_labels_always_round_trip() {
        for bytes in [
            1_000_001,
            1_234_567,
            123_456_789_012,
            u64::MAX,
            u64::MAX - 1,
            10_001,
        ] {
            let label = exact_size_label(bytes);
            assert_eq!(parse_size(&label), Ok(bytes), "{bytes} -> {label}");
        }
        assert_eq!(exact_size_label(1_234_567), "1234567B");
        assert_eq!(exact_size_label(1 << 20), "1MiB");
    }
}
