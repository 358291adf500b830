//! The README's walkthrough, run as it stands: the bash blocks between
//! `<!-- walkthrough -->` and `<!-- /walkthrough -->`, against a service of
//! this test's own, so the README cannot rot.

use std::time::Duration;

use tokio::process::Command;

use crate::helpers::spawn_app_with;

const README: &str = include_str!("../../README.md");

/// The bash code of the walkthrough's fenced blocks, in order.
fn walkthrough() -> String {
    let start = README
        .find("<!-- walkthrough -->")
        .expect("README marks the walkthrough's start");
    let end = README
        .find("<!-- /walkthrough -->")
        .expect("README marks the walkthrough's end");
    let mut script = String::new();
    let mut in_block = false;
    for line in README[start..end].lines() {
        match (in_block, line.trim_end()) {
            (false, "```bash") => in_block = true,
            (true, "```") => in_block = false,
            (true, code) => {
                script.push_str(code);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

const WRITE_TOKEN: &str = "walkthrough-write-token";

#[tokio::test]
async fn the_readme_walkthrough_runs() {
    // The README's topic names; no other test uses them.
    let app = spawn_app_with(|s| {
        s.http.api_tokens = Some(order_service::config::Secret::new(format!(
            "read:walkthrough-read-token,write:{WRITE_TOKEN}"
        )));
        s.kafka.commands_topic = "order-commands".into();
        s.kafka.events_topic = "order-events".into();
        s.kafka.dlq_topic = "order-commands-dlq".into();
    })
    .await;
    let script = walkthrough();
    assert!(script.lines().count() > 40, "the walkthrough was found");
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ORDER_SERVICE", env!("CARGO_BIN_EXE_order-service"))
            .env("API", app.url(""))
            .env("API_TOKEN", WRITE_TOKEN)
            .env(
                "KAFKA_BOOTSTRAP_SERVERS",
                &app.settings.kafka.connection.bootstrap_servers,
            )
            .env("DATABASE_URL", &app.settings.database.database_url)
            .env("KAFKA_GROUP_ID", &app.settings.group.group_id)
            .env(
                "KAFKA_DLQ_REPLAY_GROUP",
                format!("{}-replay", app.settings.group.group_id),
            )
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the walkthrough finishes within 3 minutes")
    .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walkthrough failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // What a reader is told to look for.
    for expected in [
        "REJECTION_CODE_ORDER_NOT_EDITABLE",
        "rejected (exit status 2)",
        r#""status":"confirmed""#,
        r#""total_amount":1500"#,
        r#""code":"INVALID_TRANSITION""#,
        r#""outcome":"applied""#,
        "without a token: 401",
        r#""next_page_token""#,
        r#""code":"invalid_body""#,
        "ORDER_STATUS_CANCELLED",
        "occurred_at {",
        "order_service_commands_applied_total",
        r#""status":"ready""#,
        "confirmed | completed",
        r#""dlq_partition""#,
        // The Kafka console tools: kafka-topics, the console producer's
        // order, kafka-consumer-groups, the console consumer's headers.
        "PartitionCount: 3",
        "user-5",
        "LAG",
        "original_offset:",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} is not in the walkthrough's output:\n{stdout}\n--- stderr\n{stderr}"
        );
    }
}
