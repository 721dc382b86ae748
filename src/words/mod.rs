//! Words and their counts: the one word definition used by every mode, the
//! oracle and the tests (SPEC section 1), the count map, merging, and the
//! output order. Knows nothing about files, processes or Redis.

mod counts;
mod scan;
mod slots;
mod table;
mod tokenize;

pub use counts::{DEFAULT_CHUNK_BYTES, END_OF_COUNTS, Tally, UTF8_BOM, WordCounts, output_order};
pub use slots::SharedFile;
pub use table::TableSeeds;
pub use tokenize::{
    ByteClass, Tokenizer, complete_prefix_len, for_each_word, is_separator_whitespace,
};
