//! Where the relay stands while it holds the publisher role: every id
//! below `next` is published, in flight, or in a gap (see the relay's
//! module docs for why a gap can neither be skipped nor held forever).

use std::collections::BTreeMap;

/// A gap that must be found: it was seen, and its send failed.
const FOUND: i64 = i64::MAX;
/// A gap taken over from an earlier publisher: marked by the first round
/// that looks for it.
const UNMARKED: i64 = i64::MIN;

/// Where publishing stands, while this instance holds the role.
pub(super) struct Cursor {
    /// Every id below is published, in flight, or in a gap.
    pub(super) next: i64,
    /// Runs of ids below `next` not seen yet: first id → (last id, the
    /// horizon of the round that first missed them, or [`FOUND`]).
    pub(super) gaps: BTreeMap<i64, (i64, i64)>,
    /// The watermark as last saved.
    pub(super) saved: i64,
}

impl Cursor {
    pub(super) fn resume_after(published_through: i64) -> Self {
        Self {
            next: published_through + 1,
            gaps: BTreeMap::new(),
            saved: published_through,
        }
    }

    /// Resumes where an earlier publisher's committed position left off:
    /// ids below `next` are published except `gaps`; nothing at or below
    /// `saved` (the database's watermark) is looked for again.
    pub(super) fn resume_at(next: i64, gaps: &[(i64, i64)], saved: i64) -> Self {
        if next <= saved + 1 {
            return Self::resume_after(saved);
        }
        Self {
            next,
            gaps: gaps
                .iter()
                .filter(|(first, last)| first <= last && *last > saved && *first < next)
                .map(|(first, last)| ((*first).max(saved + 1), ((*last).min(next - 1), UNMARKED)))
                .collect(),
            saved,
        }
    }

    /// The position to commit with a round: `next` and the gaps' runs.
    pub(super) fn runs(&self) -> Vec<(i64, i64)> {
        self.gaps
            .iter()
            .map(|(first, (last, _))| (*first, *last))
            .collect()
    }

    /// The highest id at and below which every row is acknowledged, given
    /// the lowest id still in flight.
    pub(super) fn watermark(&self, lowest_in_flight: Option<i64>) -> i64 {
        let gap = self.gaps.keys().next().copied().unwrap_or(i64::MAX);
        let sending = lowest_in_flight.unwrap_or(i64::MAX);
        self.next.min(gap).min(sending) - 1
    }

    /// Whether `id` lies in a gap.
    pub(super) fn in_gap(&self, id: i64) -> bool {
        self.gaps
            .range(..=id)
            .next_back()
            .is_some_and(|(_, (last, _))| id <= *last)
    }

    /// The gaps as two arrays, first ids and last ids.
    pub(super) fn gap_bounds(&self) -> (Vec<i64>, Vec<i64>) {
        self.gaps
            .iter()
            .map(|(first, (last, _))| (*first, *last))
            .unzip()
    }

    /// Takes in what one round saw (`seen`, sorted): ids from `from` up to
    /// `top` that were not visible become gaps, marked with the round's
    /// `horizon`; ids of gaps that appeared, and gaps that can no longer
    /// fill (`xmin` passed their mark: every transaction that had an id
    /// when they were first missed has ended), leave.
    pub(super) fn observe(&mut self, from: i64, top: i64, seen: &[i64], xmin: i64, horizon: i64) {
        for (first, (last, first_missed)) in std::mem::take(&mut self.gaps) {
            let first_missed = if first_missed == UNMARKED {
                horizon
            } else {
                first_missed
            };
            if first_missed >= xmin {
                self.add_unseen(first, last, seen, first_missed);
            }
        }
        if top >= from {
            self.add_unseen(from, top, seen, horizon);
        }
        self.next = self.next.max(top + 1);
    }

    /// Adds the runs of `first..=last` that are not in `seen` as gaps.
    fn add_unseen(&mut self, first: i64, last: i64, seen: &[i64], mark: i64) {
        let mut run = first;
        for &id in &seen[seen.partition_point(|id| *id < first)..] {
            if id > last {
                break;
            }
            if id > run {
                self.gaps.insert(run, (id - 1, mark));
            }
            run = id + 1;
        }
        if run <= last {
            self.gaps.insert(run, (last, mark));
        }
    }

    /// A row that was seen but not sent (or whose send failed): found again
    /// by the next round.
    pub(super) fn retry(&mut self, id: i64) {
        if id < self.next {
            self.gaps.insert(id, (id, FOUND));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps(cursor: &Cursor) -> Vec<(i64, i64)> {
        cursor.gaps.iter().map(|(f, (l, _))| (*f, *l)).collect()
    }

    #[test]
    fn ids_not_visible_become_gaps_and_hold_the_watermark() {
        let mut cursor = Cursor::resume_after(10);
        // Ids 11..=17 were asked for; 12 and 14..=16 are not visible.
        cursor.observe(11, 17, &[11, 13, 17], 100, 105);
        assert_eq!(cursor.next, 18);
        assert_eq!(gaps(&cursor), [(12, 12), (14, 16)]);
        assert!(cursor.in_gap(15) && !cursor.in_gap(13) && !cursor.in_gap(17));
        assert_eq!(cursor.watermark(None), 11);
    }

    #[test]
    fn a_jump_in_the_ids_is_one_gap() {
        let mut cursor = Cursor::resume_after(0);
        cursor.observe(1, 1 << 60, &[1, 1 << 60], 100, 105);
        assert_eq!(gaps(&cursor), [(2, (1 << 60) - 1)]);
    }

    #[test]
    fn a_gap_stays_while_a_transaction_that_ran_when_it_was_missed_may_commit() {
        let mut cursor = Cursor::resume_after(0);
        cursor.observe(1, 2, &[2], 100, 105);
        // Transactions from 100 on may still run (xmin 104 <= 105): kept.
        cursor.observe(3, 2, &[], 104, 110);
        assert_eq!(gaps(&cursor), [(1, 1)]);
        // All that ran at the first look have ended (xmin 106 > 105) and
        // the row is still not there: it never will be.
        cursor.observe(3, 2, &[], 106, 110);
        assert!(cursor.gaps.is_empty());
        assert_eq!(cursor.watermark(None), 2);
    }

    #[test]
    fn ids_that_appear_leave_their_gap() {
        let mut cursor = Cursor::resume_after(0);
        cursor.observe(1, 6, &[1, 6], 100, 105);
        assert_eq!(gaps(&cursor), [(2, 5)]);
        cursor.observe(7, 6, &[3, 4], 100, 106);
        assert_eq!(gaps(&cursor), [(2, 2), (5, 5)]);
        assert_eq!(cursor.next, 7);
    }

    #[test]
    fn a_taken_over_position_looks_for_its_gaps_again_and_never_below_the_watermark() {
        // Kafka says: below 20 published but 5..=6, 12 and 15..=17; the
        // database's watermark is 10.
        let mut cursor = Cursor::resume_at(20, &[(5, 6), (12, 12), (15, 17)], 10);
        assert_eq!(cursor.next, 20);
        assert_eq!(gaps(&cursor), [(12, 12), (15, 17)]);
        assert_eq!(cursor.watermark(None), 11);
        // The first round marks them with its horizon: kept while a
        // transaction older than it may commit, found when visible.
        cursor.observe(20, 19, &[16], 150, 200);
        assert_eq!(gaps(&cursor), [(12, 12), (15, 15), (17, 17)]);
        cursor.observe(20, 19, &[], 201, 210);
        assert!(cursor.gaps.is_empty());
        // A watermark at or past Kafka's position wins.
        let cursor = Cursor::resume_at(20, &[(12, 12)], 30);
        assert_eq!((cursor.next, cursor.gaps.len()), (31, 0));
    }

    #[test]
    fn a_row_to_send_again_is_a_gap_that_never_expires() {
        let mut cursor = Cursor::resume_after(0);
        cursor.observe(1, 3, &[1, 2, 3], 100, 105);
        cursor.retry(2);
        cursor.observe(4, 3, &[], i64::MAX - 1, i64::MAX);
        assert_eq!(gaps(&cursor), [(2, 2)]);
        assert_eq!(cursor.watermark(None), 1);
        // Ids the cursor has not reached are not gaps.
        cursor.retry(9);
        assert!(!cursor.in_gap(9));
    }
}
