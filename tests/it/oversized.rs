//! Hostile shapes of record that once stopped every partition: a 600 KB
//! header, a 200 KB `command_id` of control bytes, a 900 KB payload, and a
//! record so close to the size limit that its dead letter cannot carry it,
//! with or without its payload.
//! Each must end in the dead-letter topic with a bounded error and its
//! `original_*` headers, and the commands behind it, on its partition and
//! on every other, must be applied. So must a valid command whose header
//! name is not UTF-8.

use order_service::proto::order_event::Event;
use std::os::unix::ffi::OsStringExt;

use prost::Message as _;
use rdkafka::Message;

use crate::helpers::*;

/// Most bytes an error header may take.
const ERROR_LIMIT: usize = 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_hostile_records_are_dead_lettered_and_nothing_stalls() {
    let mut app = spawn_app().await;
    let victim = new_id();
    let key = Some(victim.as_bytes());

    // 1. A 600 KB content-type header on a valid command.
    let huge_header = "x".repeat(600_000);
    let valid = create_order(&new_id(), "user-hostile").encode_to_vec();
    app.send_raw(key, &valid, &[("content-type", &huge_header)])
        .await;
    // 2. A command_id of 200 KB of control bytes.
    let mut command = create_order(&new_id(), "user-hostile");
    command.command_id = "\u{1}\u{2}\u{7}".repeat(70_000);
    app.send_raw(key, &command.encode_to_vec(), &[]).await;
    // 3. A 900 KB payload that is no command.
    app.send_raw(key, &vec![0xff; 900_000], &[]).await;
    // 4. Near the limit: 500 KB of payload and a 500 KB header, valid
    //    neither; the ~200 bytes of headers a dead letter adds push it over
    //    librdkafka's 1,000,000-byte message.max.bytes.
    app.send_raw(
        key,
        &vec![0xfe; 500_000],
        &[("x-trace", &"t".repeat(499_750))],
    )
    .await;

    // 5. A header alone near the limit: without its payload the dead letter
    //    is still too large, so the header goes too.
    app.send_raw(key, b"junk", &[("x-big", &"b".repeat(999_800))])
        .await;

    // 6. A valid command whose header name is not UTF-8 (rdkafka's own
    //    header iterator panics on it), produced by kcat.
    let odd_order = new_id();
    let file = std::env::temp_dir().join(format!("odd-header-{odd_order}"));
    std::fs::write(&file, create_order(&odd_order, "user-odd").encode_to_vec()).unwrap();
    let header = std::ffi::OsString::from_vec(b"\xff\xfe-name=value".to_vec());
    let status = std::process::Command::new("kcat")
        .args(["-P", "-b", &app.settings.kafka.connection.bootstrap_servers])
        .args([
            "-t",
            &app.settings.kafka.commands_topic,
            "-k",
            &victim,
            "-H",
        ])
        .arg(header)
        .arg(&file)
        .status()
        .expect("run kcat (scripts/test installs it)");
    assert!(status.success());
    std::fs::remove_file(file).unwrap();

    // Behind them on the same partition, and on every other.
    let others: Vec<String> = (0..12).map(|_| new_id()).collect();
    app.send(&create_order(&victim, "user-after")).await;
    for order in &others {
        app.send(&create_order(order, "user-elsewhere")).await;
    }
    let expected = 2 + others.len();
    let events = app.events(expected).await.to_vec();
    for order in [&victim, &odd_order].into_iter().chain(&others) {
        assert!(
            events
                .iter()
                .any(|e| &e.order_id == order && matches!(e.event, Some(Event::OrderCreated(_)))),
            "order {order} was applied: {events:?}"
        );
    }

    let letters = app.dead_letters(5).await;
    assert_eq!(letters.len(), 5);
    for letter in &letters {
        let headers = headers_of(letter);
        let error = &headers["error"];
        assert!(error.len() <= ERROR_LIMIT, "error of {} bytes", error.len());
        assert!(!error.contains(&"\\u{1}\\u{2}\\u{7}".repeat(30)), "{error}");
        assert_eq!(headers["original_topic"], app.settings.kafka.commands_topic);
        assert!(headers["original_offset"].parse::<i64>().is_ok());
        assert_eq!(letter.key(), key, "the key is kept");
    }
    let by_error = |needle: &str| {
        letters
            .iter()
            .find(|l| headers_of(*l)["error"].contains(needle))
            .unwrap_or_else(|| panic!("a dead letter for {needle:?}"))
    };
    let content_type = headers_of(by_error("unsupported content-type"));
    assert!(
        content_type["error"].contains("bytes in all"),
        "{}",
        content_type["error"]
    );
    let command_id = by_error("command_id");
    assert!(headers_of(command_id)["error"].contains("bytes in all"));
    // The near-limit record went without its payload, and says so.
    let cut: Vec<_> = letters
        .iter()
        .filter(|l| headers_of(*l).contains_key("dlq_dropped"))
        .collect();
    assert!(!cut.is_empty(), "a dead letter says what was cut");
    for letter in &cut {
        assert!(letter.payload().is_none());
        assert!(headers_of(*letter)["dlq_dropped"].contains("payload ("));
    }
    let header_cut = cut
        .iter()
        .map(|l| headers_of(*l))
        .find(|h| h["dlq_dropped"].contains("header \"x-big\" (999805 bytes)"))
        .expect("the near-limit header was dropped and named");
    assert!(!header_cut.contains_key("x-big"));
    assert!(header_cut.contains_key("original_partition"));
    app.stop().await;
}
