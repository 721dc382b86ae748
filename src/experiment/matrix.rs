//! Matrix expansion: `[fixed]` overlaid with every combination of the
//! `[matrix]` axes (their cartesian product, in file order).

use toml::Spanned;

use super::schema::{FixedTable, MatrixTable};

/// Why the matrix cannot be expanded: the key, the byte offset in the file
/// and what is wrong.
pub(super) type MatrixError = (&'static str, usize, String);

/// Every combination of `fixed` with one value of each axis.
pub(super) fn expand(
    fixed: &FixedTable,
    matrix: Option<&Spanned<MatrixTable>>,
) -> Result<Vec<FixedTable>, MatrixError> {
    let mut combos = vec![fixed.clone()];
    let Some(matrix) = matrix else {
        return Ok(combos);
    };
    let axes = matrix.get_ref().axes();
    if axes.is_empty() {
        return Err((
            "matrix",
            matrix.span().start,
            "the [matrix] table has no axes: list at least one parameter, or remove the table"
                .into(),
        ));
    }
    for (key, span, values) in axes {
        if values.is_empty() {
            return Err((
                key,
                span.start,
                "empty list: give at least one value".into(),
            ));
        }
        if let Some(clash) = fixed.keys().into_iter().find(|k| *k == key) {
            return Err((
                clash,
                span.start,
                "set both in [fixed] and in [matrix]: keep one".into(),
            ));
        }
        combos = combos
            .iter()
            .flat_map(|base| {
                values.iter().map(move |value| {
                    let mut combo = base.clone();
                    combo.overlay(value);
                    combo
                })
            })
            .collect();
    }
    Ok(combos)
}
