//! The aggregation that plots and the report share: rows as named
//! columns, medians with min..max spreads over repetitions, and the serial
//! baseline rule behind speed-up and efficiency (T_s is the median wall
//! time of the serial runs of the same input, tokenizer and scale).

use std::collections::BTreeMap;

use serde_json::Value;

use super::row::RunRow;

/// A row as named columns (the CSV header names).
pub(crate) type Columns = serde_json::Map<String, Value>;

/// A row as named columns (the CSV header names).
pub(crate) fn columns(row: &RunRow) -> Columns {
    match serde_json::to_value(row) {
        Ok(Value::Object(map)) => map,
        _ => Columns::new(),
    }
}

/// A column value as plain text (strings unquoted).
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The median, minimum and maximum of `values` (sorted in place); `None` when empty.
pub(crate) fn median_min_max(values: &mut [f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((median, values[0], values[n - 1]))
}

/// Which serial runs are "the same input" as a row: the key shared by
/// runs with the same input, tokenizer and scale.
pub(crate) fn baseline_key(r: &Columns) -> String {
    format!(
        "{}|{}|{}",
        text_of(&r["input"]),
        text_of(&r["tokenizer"]),
        text_of(&r["scale"])
    )
}

/// T_s per input: the median wall time of the serial runs, by [`baseline_key`].
pub(crate) fn serial_baselines(all: &[Columns]) -> BTreeMap<String, f64> {
    let mut serial_times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in all.iter().filter(|r| r["mode"] == "serial") {
        serial_times
            .entry(baseline_key(r))
            .or_default()
            .push(r["wall_s"].as_f64().unwrap_or(f64::NAN));
    }
    serial_times
        .into_iter()
        .filter_map(|(k, mut v)| median_min_max(&mut v).map(|(m, _, _)| (k, m)))
        .collect()
}

/// Speed-up S = T_s / T_p.
pub(crate) fn speedup(serial_s: f64, parallel_s: f64) -> f64 {
    serial_s / parallel_s
}

/// Parallel efficiency E = T_s / (p T_p).
pub(crate) fn efficiency(serial_s: f64, workers: f64, parallel_s: f64) -> f64 {
    serial_s / (workers * parallel_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median_min_max(&mut [3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(
            median_min_max(&mut [4.0, 1.0, 2.0, 3.0]),
            Some((2.5, 1.0, 4.0))
        );
        assert_eq!(median_min_max(&mut []), None);
    }

    #[test]
    fn the_baseline_is_the_serial_median_of_the_same_input() {
        let mut other = RunRow::sample("serial", 1, 1, 9.0);
        other.input = "other".into();
        let rows: Vec<Columns> = [
            RunRow::sample("serial", 1, 1, 2.0),
            RunRow::sample("serial", 1, 2, 4.0),
            RunRow::sample("threads", 2, 1, 1.0),
            other,
        ]
        .iter()
        .map(columns)
        .collect();
        let baselines = serial_baselines(&rows);
        assert_eq!(baselines.len(), 2);
        assert_eq!(baselines.get(&baseline_key(&rows[2])), Some(&3.0));
        assert_eq!(efficiency(3.0, 2.0, 1.0), 1.5);
        assert_eq!(speedup(3.0, 1.0), 3.0);
    }
}
