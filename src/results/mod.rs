//! Results: the flat CSV row of one run, the CSV file it is appended to
//! (whole rows only, never a half row; an older schema is refused, not
//! corrupted), and the environment sidecar that gives rows their
//! provenance. Knows nothing about how runs are executed.

mod environment;
mod row;
mod store;

pub use environment::{Environment, capture_environment, git_commit, utc_timestamp};
pub use row::RunRow;
pub use store::{ResultsError, append_row, events_path, read_rows};
