//! How the report writes numbers and parameter values: seconds to three
//! significant digits, ratios to two decimals, sizes in units, empty
//! settings as `none`.

use serde_json::Value;

use crate::results::text_of;

/// What a table cell shows when there is no value.
pub(crate) const MISSING: &str = "—";

/// Seconds to three significant digits (`0.855`, `12.3`, `123`), without
/// the unit; [`MISSING`] when not finite.
pub(crate) fn seconds(value: f64) -> String {
    if !value.is_finite() {
        return MISSING.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = usize::try_from(2 - magnitude).unwrap_or(0);
    format!("{value:.decimals$}")
}

/// A ratio such as a speed-up or an efficiency, to two decimals.
pub(crate) fn ratio(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        MISSING.to_string()
    }
}

/// A measured quantity: seconds for `*_s` columns, otherwise a plain
/// number without needless decimals (`3`, `2.5`).
pub(crate) fn quantity(column: &str, value: f64) -> String {
    if column.ends_with("_s") {
        seconds(value)
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A parameter value as text: byte columns in units (`1MiB`), empty
/// settings (no straggler, no crash) as `none`.
pub(crate) fn value_text(column: &str, value: &Value) -> String {
    match value.as_u64() {
        Some(bytes) if column.ends_with("bytes") => data_gen::format_size(bytes),
        _ => match text_of(value) {
            text if text.is_empty() => "none".to_string(),
            text => text,
        },
    }
}

/// A parameter value with its column name where the value alone would be
/// unclear: `atomic=true`, `crash=none`, but `processes` for a mode.
pub(crate) fn labelled_value(column: &str, value: &Value) -> String {
    match column {
        "mode" | "input" | "tokenizer" => value_text(column, value),
        _ => format!("{column}={}", value_text(column, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_three_significant_digits() {
        assert_eq!(seconds(0.854_483), "0.854");
        assert_eq!(seconds(12.345), "12.3");
        assert_eq!(seconds(123.45), "123");
        assert_eq!(seconds(4567.8), "4568");
        assert_eq!(seconds(0.000_123_4), "0.000123");
        assert_eq!(seconds(0.0), "0");
        assert_eq!(seconds(f64::NAN), MISSING);
    }

    #[test]
    fn values_read_like_the_experiment_files() {
        assert_eq!(value_text("unit_bytes", &Value::from(1_048_576u64)), "1MiB");
        assert_eq!(value_text("slow", &Value::from("")), "none");
        assert_eq!(labelled_value("atomic", &Value::from(true)), "atomic=true");
        assert_eq!(labelled_value("mode", &Value::from("serial")), "serial");
        assert_eq!(quantity("units_stolen", 3.0), "3");
        assert_eq!(quantity("wall_s", 1.23456), "1.23");
    }
}
