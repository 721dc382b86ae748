//! Markdown building blocks: tables (plain-text cells, escaped when
//! written as Markdown; the HTML report writes the same tables as HTML)
//! and links to report sections.

use std::io::{self, Write};

/// A Markdown table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings and no rows.
    pub(crate) fn new(header: Vec<String>) -> Table {
        Table {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are left empty, extra cells dropped).
    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The column headings.
    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// The rows, as pushed.
    pub(crate) fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// Writes the table, followed by a blank line.
    pub(crate) fn write<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        let width = self.header.len();
        write_row(out, &self.header, width)?;
        writeln!(out, "|{}", "---|".repeat(width))?;
        for row in &self.rows {
            write_row(out, row, width)?;
        }
        writeln!(out)
    }
}

fn write_row<W: Write + ?Sized>(out: &mut W, cells: &[String], width: usize) -> io::Result<()> {
    let cells: Vec<String> = (0..width)
        .map(|i| {
            cells
                .get(i)
                .map_or_else(String::new, |cell| escape_cell(cell))
        })
        .collect();
    writeln!(out, "| {} |", cells.join(" | "))
}

/// A cell's text with `|` escaped and line breaks flattened.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The anchor of the section of experiment `name` (its heading is the bare name).
pub(crate) fn experiment_anchor(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

/// A link to the section of experiment `name`: ``[`name`](#name)``.
pub(crate) fn experiment_link(name: &str) -> String {
    format!("[`{name}`](#{})", experiment_anchor(name))
}

/// A Markdown image of a plot at `link` (angle brackets when the link has spaces or parentheses).
pub(crate) fn image(alt: &str, link: &str) -> String {
    if link.contains([' ', '(', ')']) {
        format!("![{alt}](<{link}>)")
    } else {
        format!("![{alt}]({link})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_pad_short_rows() {
        let mut table = Table::new(vec!["a".into(), "b".into()]);
        table.push(vec!["x|y".into()]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "| a | b |\n|---|---|\n| x\\|y |  |\n\n"
        );
    }

    #[test]
    fn links_and_images() {
        assert_eq!(
            experiment_link("crash-points"),
            "[`crash-points`](#crash-points)"
        );
        assert_eq!(image("p", "plots/a.png"), "![p](plots/a.png)");
        assert_eq!(image("p", "my plots/a.png"), "![p](<my plots/a.png>)");
    }
}
