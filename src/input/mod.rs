//! Inputs: walking the paths a user gives into a stable list of regular
//! files, and cutting that list into units of work (whole files, or byte
//! ranges of a large file cut just after a whitespace byte), and counting a
//! unit.

mod map;
mod units;
mod walk;

pub use map::{InputMap, input_root};
pub use units::{MIN_UNIT_BYTES, Unit, count_unit, plan_units, shrink_tail};
pub use walk::{InputError, InputFile, collect_files};
