//! The consumer's positions in `consumer_offsets` only move forward: a lane
//! that finishes a partition revoked while it applied cannot move back what
//! the partition's new owner saved meanwhile.

use chrono::Utc;
use diesel::prelude::*;
use order_service::db::ScratchDatabase;
use order_service::db::models::ConsumerOffset;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn position(partition: i32, next_offset: i64) -> ConsumerOffset {
    ConsumerOffset {
        group_id: "group".into(),
        topic: "commands".into(),
        partition,
        next_offset,
        updated_at: Utc::now(),
    }
}

fn saved(conn: &mut PgConnection) -> Vec<(i32, i64)> {
    let mut rows: Vec<(i32, i64)> = ConsumerOffset::for_topic(conn, "group", "commands")
        .expect("read positions")
        .into_iter()
        .map(|row| (row.partition, row.next_offset))
        .collect();
    rows.sort_unstable();
    rows
}

#[test]
fn a_position_never_moves_back() {
    let database = ScratchDatabase::migrated(&admin_url(), "order_service_test").expect("scratch");
    let mut new_owner = PgConnection::establish(database.url()).expect("connect");
    let mut old_owner = PgConnection::establish(database.url()).expect("connect");
    ConsumerOffset::save_all(&mut new_owner, &[position(0, 100), position(1, 10)]).unwrap();
    // The old owner's lane commits the batch it held when the partition was
    // revoked: partition 0 behind what the new owner saved, partition 1 ahead.
    ConsumerOffset::save_all(&mut old_owner, &[position(0, 60), position(1, 20)]).unwrap();
    assert_eq!(saved(&mut new_owner), vec![(0, 100), (1, 20)]);

    // The same race with both transactions open at once: the later commit
    // waits on the row, then sees the newer position and leaves it.
    new_owner
        .transaction::<_, diesel::result::Error, _>(|new_owner| {
            ConsumerOffset::save_all(new_owner, &[position(0, 200)])?;
            let old = std::thread::spawn({
                let url = database.url().to_owned();
                move || {
                    let mut old_owner = PgConnection::establish(&url).expect("connect");
                    ConsumerOffset::save_all(&mut old_owner, &[position(0, 150)]).unwrap()
                }
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(!old.is_finished(), "the stale write waits for the row");
            Ok(old)
        })
        .map(|old| old.join().unwrap())
        .unwrap();
    assert_eq!(saved(&mut old_owner), vec![(0, 200), (1, 20)]);
}
