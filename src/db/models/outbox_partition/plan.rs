//! Where the outbox's next partitions go.

use super::{Layout, OutboxPartition};

/// Where the next partitions go, given the range partitions (lowest
/// first), the layout and the ids per partition: the lower bounds of those
/// to make so that `ahead` partitions' worth of ids are covered past the
/// next id. Above every id the default partition holds, and at least some
/// room past the next id: for the ids drawn while the partition is made,
/// which the default partition refuses in its range meanwhile (a
/// hundredth of a partition, and a tenth of the default partition's span
/// of ids for the time its rows are checked; none below 100 ids a
/// partition). A last range that ends within that room (or before) is
/// not followed: the next one starts past the room, and the ids between
/// go to the default partition. Should an id land in the range first,
/// making it fails and the next round goes above it.
pub(super) fn next_partitions(
    partitions: &[OutboxPartition],
    layout: &Layout,
    ids: i64,
    ahead: i64,
) -> Vec<i64> {
    let top = partitions.last().map(|p| p.to);
    let span = match (layout.default_min, layout.default_max) {
        (Some(min), Some(max)) => max.saturating_sub(min),
        _ => 0,
    };
    let start = layout
        .next_id
        .saturating_add(ids / 100)
        .saturating_add(span / 10);
    // A range ends before its `to`: one ending at the room's end or below
    // would be followed by a partition meeting the ids drawn meanwhile.
    let behind = top.is_none_or(|top| top <= start);
    let mut from = match top {
        Some(top) if !behind => top,
        _ => start,
    };
    if let Some(default_max) = layout.default_max {
        from = from.max(default_max.saturating_add(1));
    }
    let covered_from = if behind { from } else { layout.next_id };
    let until = covered_from.saturating_add(ids.saturating_mul(ahead));
    let mut made = Vec::new();
    while from < until && from > 0 {
        made.push(from);
        from = from.saturating_add(ids);
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(from: i64, to: i64) -> OutboxPartition {
        OutboxPartition {
            name: format!("outbox_part_{from:019}"),
            from: Some(from),
            to,
        }
    }

    fn layout(next_id: i64, default_max: Option<i64>) -> Layout {
        Layout {
            next_id,
            default_min: default_max,
            default_max,
            published_through: 0,
        }
    }

    #[test]
    fn partitions_follow_the_last_one_while_it_covers_the_next_id() {
        let parts = [part(1, 101), part(101, 201)];
        assert_eq!(
            next_partitions(&parts, &layout(150, None), 100, 2),
            [201, 301]
        );
        // Two partitions' worth past the next id is covered already.
        assert!(next_partitions(&parts, &layout(1, None), 100, 2).is_empty());
    }

    #[test]
    fn a_sequence_past_the_ranges_starts_above_it_and_the_default_rows() {
        let parts = [part(1, 1001)];
        // Fell behind: the next id is past the last range.
        assert_eq!(
            next_partitions(&parts, &layout(5000, None), 1000, 2),
            [5010, 6010]
        );
        // The default partition holds rows above that room.
        assert_eq!(
            next_partitions(&parts, &layout(5000, Some(5500)), 1000, 2),
            [5501, 6501]
        );
        // A default partition of 5,000 ids' span: more room.
        let spread = Layout {
            default_min: Some(1),
            ..layout(5000, Some(5001))
        };
        assert_eq!(next_partitions(&parts, &spread, 1000, 2), [5510, 6510]);
        // No range at all (only the default partition), small partitions.
        assert_eq!(next_partitions(&[], &layout(1, None), 4, 2), [1, 5]);
    }

    #[test]
    fn the_legacy_partition_counts_as_a_range() {
        let legacy = OutboxPartition {
            name: "outbox_part_legacy".into(),
            from: None,
            to: 1,
        };
        assert_eq!(
            next_partitions(std::slice::from_ref(&legacy), &layout(1, None), 10, 2),
            [1, 11]
        );
        // It ends at the next id, so it does not cover it: the first range
        // starts above, with room (a hundredth of a partition).
        assert_eq!(
            next_partitions(&[legacy], &layout(1, None), 1000, 2),
            [11, 1011]
        );
    }

    #[test]
    fn a_range_ending_at_the_next_id_does_not_cover_it() {
        let parts = [part(1, 1001)];
        assert_eq!(
            next_partitions(&parts, &layout(1001, None), 1000, 2),
            [1011, 2011]
        );
        // Nor one ending within the room past it.
        assert_eq!(
            next_partitions(&parts, &layout(995, None), 1000, 2),
            [1005, 2005]
        );
        // Past the room, it is followed.
        assert_eq!(
            next_partitions(&parts, &layout(990, None), 1000, 2),
            [1001, 2001]
        );
    }
}
