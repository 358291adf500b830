//! The `order-service` binary's verbs against the real broker and database:
//! `send` (flags, JSON, a file, `--wait`), `tail` (to the end, `--follow`),
//! `dlq list` and `dlq replay`.

use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::{TestApp, new_id, spawn_app};

pub(crate) fn order_service(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_order-service"));
    command
        .args(args)
        .envs(app.cli_env())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}

pub(crate) async fn run(app: &TestApp, args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(60), order_service(app, args).output())
        .await
        .expect("finishes within 60 s")
        .expect("runs")
}

/// Runs and expects exit status `code`; returns stdout as JSON lines.
pub(crate) async fn lines(app: &TestApp, args: &[&str], code: i32) -> Vec<Value> {
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
