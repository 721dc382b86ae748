//! Words and their counts: the one word definition used by every mode, the
//! oracle and the tests (SPEC section 1), the count map, merging, and the
//! output order. Knows nothing about files, processes or Redis.

mod counts;
mod scan;
mod table;
mod tokenize;

pub use counts::{output_order, Tally, WordCounts, DEFAULT_CHUNK_BYTES, END_OF_COUNTS, UTF8_BOM};
pub use tokenize::{complete_prefix_len, for_each_word, is_separator_whitespace, ByteClass, Tokenizer};
