//! The `order-service` binary's verbs against the real broker and database:
//! `send` (flags, JSON, a file, `--wait`), `tail` (to the end, `--follow`),
//! `dlq list` and `dlq replay`.

use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::{TestApp, new_id, spawn_app};

fn order_service(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_order-service"));
    command
        .args(args)
        .envs(app.cli_env())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}

async fn run(app: &TestApp, args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(60), order_service(app, args).output())
        .await
        .expect("finishes within 60 s")
        .expect("runs")
}

/// Runs and expects exit status `code`; returns stdout as JSON lines.
async fn lines(app: &TestApp, args: &[&str], code: i32) -> Vec<Value> {
    let output = run(app, args).await;
    assert_eq!(
        output.status.code(),
        Some(code),
        "order-service {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// `send <verb> --wait …`: one applied or rejected outcome.
async fn send_waiting(app: &TestApp, args: &[&str], code: i32) -> Value {
    let mut full = vec!["send", "--wait"];
    full.extend_from_slice(args);
    let mut out = lines(app, &full, code).await;
    assert_eq!(out.len(), 1, "{out:?}");
    out.remove(0)
}

#[tokio::test]
async fn send_from_flags_drives_a_lifecycle_and_waits_for_each_outcome() {
    let app = spawn_app().await;
    let created = send_waiting(
        &app,
        &[
            "create-order",
            "--user-id",
            "u-cli",
            "--shipping-address",
            "1 Main St",
            "--currency",
            "EUR",
        ],
        0,
    )
    .await;
    assert_eq!(created["outcome"], "applied");
    assert!(created["event"]["orderCreated"].is_object());
    let order_id = created["order_id"].as_str().expect("order_id").to_owned();
    assert_eq!(created["event"]["orderId"], order_id.as_str());
    let id = order_id.as_str();

    let steps: [&[&str]; 4] = [
        &[
            "add-item",
            "--order-id",
            id,
            "--product-id",
            "p-1",
            "--quantity",
            "3",
            "--price-per-unit",
            "700",
        ],
        &[
            "process-payment",
            "--order-id",
            id,
            "--amount",
            "2100",
            "--payment-method",
            "card",
            "--transaction-id",
            "tx-cli",
        ],
        &[
            "update-payment-status",
            "--order-id",
            id,
            "--transaction-id",
            "tx-cli",
            "--status",
            "completed",
        ],
        &[
            "update-order-status",
            "--order-id",
            id,
            "--status",
            "confirmed",
            "--reason",
            "paid",
        ],
    ];
    for (step, expected) in steps.iter().zip([
        "orderItemAdded",
        "paymentProcessed",
        "paymentStatusChanged",
        "orderStatusChanged",
    ]) {
        let outcome = send_waiting(&app, step, 0).await;
        assert_eq!(outcome["outcome"], "applied", "{outcome}");
        assert!(outcome["event"][expected].is_object(), "{outcome}");
    }

    // A broken rule: printed, and exit status 2.
    let rejected = send_waiting(
        &app,
        &[
            "add-item",
            "--order-id",
            id,
            "--product-id",
            "late",
            "--quantity",
            "1",
            "--price-per-unit",
            "1",
        ],
        2,
    )
    .await;
    assert_eq!(rejected["outcome"], "rejected");
    assert_eq!(
        rejected["event"]["commandRejected"]["code"],
        "REJECTION_CODE_ORDER_NOT_EDITABLE"
    );

    // Refused before publishing: not a status, not a UUID.
    let bad = run(
        &app,
        &[
            "send",
            "update-order-status",
            "--order-id",
            id,
            "--status",
            "lost",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown order status"));
    let bad = run(
        &app,
        &[
            "send",
            "add-item",
            "--order-id",
            "nope",
            "--product-id",
            "p",
            "--quantity",
            "1",
            "--price-per-unit",
            "1",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(1));
}

#[tokio::test]
async fn send_a_file_then_tail_to_the_end() {
    let mut app = spawn_app().await;
    let orders: Vec<String> = (0..20).map(|_| new_id()).collect();
    let mut file = String::new();
    for id in &orders {
        file.push_str(&format!(
            "{{\"orderId\":\"{id}\",\"createOrder\":{{\"userId\":\"u-file\",\"shippingAddress\":\"x\",\"currency\":\"EUR\"}}}}\n\n"
        ));
    }
    let path = std::env::temp_dir().join(format!("commands-{}.jsonl", new_id()));
    std::fs::write(&path, file).expect("write the file");
    let sent = lines(&app, &["send", "--file", path.to_str().expect("path")], 0).await;
    std::fs::remove_file(&path).ok();
    assert_eq!(sent.len(), 20, "one line per command, blank lines skipped");
    let sent_orders: Vec<&str> = sent
        .iter()
        .map(|l| l["order_id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        sent_orders,
        orders.iter().map(String::as_str).collect::<Vec<_>>()
    );
    app.events(20).await;

    // Without --follow, tail stops at the end of the topic.
    let all = lines(&app, &["tail", "--from-beginning"], 0).await;
    assert_eq!(all.len(), 20);
    let one = lines(
        &app,
        &["tail", "--from-beginning", "--order-id", &orders[7]],
        0,
    )
    .await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["orderId"], orders[7].as_str());
    assert!(one[0]["orderCreated"].is_object());

    // A bad line stops the run before anything is sent.
    let path = std::env::temp_dir().join(format!("commands-{}.jsonl", new_id()));
    std::fs::write(&path, "{\"createOrder\":{\"userId\":\"u\",\"shippingAddress\":\"x\",\"currency\":\"EUR\"}}\n{oops\n")
        .expect("write the file");
    let bad = run(&app, &["send", "--file", path.to_str().expect("path")]).await;
    std::fs::remove_file(&path).ok();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 2"));
    assert!(bad.stdout.is_empty());
}

#[tokio::test]
async fn tail_follow_prints_new_events_as_they_come() {
    let app = spawn_app().await;
    // From the beginning, so no event can slip by before tail is reading.
    let mut child = order_service(&app, &["tail", "--from-beginning", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tail");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    for _ in 0..3 {
        let sent = lines(
            &app,
            &[
                "send",
                "create-order",
                "--user-id",
                "u-follow",
                "--shipping-address",
                "x",
                "--currency",
                "EUR",
            ],
            0,
        )
        .await;
        let order_id = sent[0]["order_id"].as_str().expect("order_id").to_owned();
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("an event within 30 s")
            .expect("read")
            .expect("a line");
        let event: Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(event["orderId"], order_id.as_str());
    }
    child.kill().await.expect("stop tail");
}

#[tokio::test]
async fn dead_letters_are_listed_and_replayed_once_fixed() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    // A JSON command sent without its content-type header: dead-lettered.
    let json = format!(
        "{{\"commandId\":\"{}\",\"orderId\":\"{order_id}\",\"createOrder\":{{\"userId\":\"u-dlq\",\"shippingAddress\":\"x\",\"currency\":\"EUR\"}}}}",
        new_id()
    );
    app.send_raw(
        Some(order_id.as_bytes()),
        json.as_bytes(),
        &[("trace", "t-1")],
    )
    .await;
    app.dead_letters(1).await;

    let listed = lines(&app, &["dlq", "list"], 0).await;
    assert_eq!(listed.len(), 1);
    let letter = &listed[0];
    assert_eq!(letter["key"], order_id.as_str());
    assert_eq!(letter["payload"], json.as_str());
    assert_eq!(
        letter["original_topic"],
        app.settings.kafka.commands_topic.as_str()
    );
    assert_eq!(letter["headers"]["trace"], "t-1");
    assert!(
        letter["error"]
            .as_str()
            .expect("error")
            .contains("protobuf")
    );

    // The cause: the missing header. Replay with it set.
    let replayed = lines(
        &app,
        &["dlq", "replay", "--header", "content-type=application/json"],
        0,
    )
    .await;
    assert_eq!(replayed.len(), 1);
    let events = app.events(1).await;
    assert_eq!(events[0].order_id, order_id);
    assert!(matches!(
        events[0].event,
        Some(order_service::proto::order_event::Event::OrderCreated(_))
    ));

    // Remembered as replayed: nothing pending, but still in the topic.
    assert!(lines(&app, &["dlq", "list"], 0).await.is_empty());
    assert_eq!(lines(&app, &["dlq", "list", "--all"], 0).await.len(), 1);
    let again = lines(&app, &["dlq", "replay"], 0).await;
    assert!(again.is_empty(), "nothing replayed twice: {again:?}");

    // Two more, still broken: a dry run shows both; --only replays one, which
    // fails again (a new dead letter) and is remembered by nothing.
    for _ in 0..2 {
        app.send_raw(Some(b"k"), b"\xff\xff broken", &[]).await;
    }
    app.dead_letters(2).await;
    let pending = lines(&app, &["dlq", "replay", "--dry-run"], 0).await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    let first = format!("{}:{}", pending[0]["partition"], pending[0]["offset"]);
    let one = lines(&app, &["dlq", "replay", "--only", &first], 0).await;
    assert_eq!(one.len(), 1);
    assert_eq!(
        format!("{}:{}", one[0]["dlq_partition"], one[0]["dlq_offset"]),
        first
    );
    app.dead_letters(1).await; // the replayed one, dead-lettered again
    let still = lines(&app, &["dlq", "list"], 0).await;
    assert_eq!(
        still.len(),
        3,
        "both still pending, plus the new letter: {still:?}"
    );
}

#[tokio::test]
async fn migrate_builds_the_schema_of_an_empty_database() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let app = spawn_app().await;
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let empty = order_service::db::ScratchDatabase::empty(&admin_url, "order_service_test")
        .expect("an empty database");
    let url = empty.url().to_owned();

    let mut ran = Vec::new();
    for _ in 0..2 {
        let output = order_service(&app, &["migrate"])
            .env("DATABASE_URL", &url)
            .output()
            .await
            .expect("runs");
        ran.push(output.status.success());
    }
    let tables: i64 = {
        let mut conn = PgConnection::establish(&url).expect("connect");
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
              AND table_name IN ('orders', 'order_items', 'payments', 'order_status_history', \
                                 'processed_commands', 'outbox', 'consumer_offsets'))",
        ))
        .get_result(&mut conn)
        .expect("count tables")
    };
    drop(empty);
    assert_eq!(
        ran,
        [true, true],
        "migrate succeeds, and again with nothing to do"
    );
    assert_eq!(tables, 7);
}
