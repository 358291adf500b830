//! Tests that compare throughput with and without a load. They run alone,
//! after the rest of the suite (`scripts/test` runs `measured::` in a pass
//! of its own with one test thread): a neighbouring test's load would be
//! measured with them.

mod reads;
