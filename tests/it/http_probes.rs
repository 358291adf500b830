//! The probes answer, and the metrics move as commands flow (and serve
//! every series the Grafana dashboard queries).

use std::time::Duration;

use reqwest::{Client, StatusCode};

use diesel::connection::SimpleConnection;

use crate::helpers::{TestApp, create_order, new_id, spawn_app, spawn_app_with};

/// The value of the sample `name` (with its labels, as printed), 0 when absent.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            (key == name).then(|| value.parse().expect("a number"))
        })
        .unwrap_or(0.0)
}

async fn metrics(app: &TestApp) -> String {
    let response = Client::new()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("text")
}

#[tokio::test]
async fn probes_answer_and_metrics_follow_the_commands() {
    let mut app = spawn_app().await;
    let http = Client::new();
    let health = http.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);

    // Ready once the consumer is in its group; until then, 503.
    let ready = app
        .await_readiness(Duration::from_secs(60), |status, body| {
            if status != 200 {
                assert_eq!(status, 503);
                assert_eq!(body["status"], "not_ready");
            }
            status == 200
        })
        .await;
    assert_eq!(ready["checks"]["database"]["ok"], true);
    assert_eq!(ready["relay"]["lagging"], false);
    assert!(ready["checks"]["consumer"]["assigned_partitions"].as_i64() > Some(0));

    let before = metrics(&app).await;
    let order_id = new_id();
    app.send(&create_order(&order_id, "u-metrics")).await;
    app.send(&create_order(&order_id, "u-metrics")).await; // ORDER_ALREADY_EXISTS
    app.send_raw(Some(b"k"), b"\xff\xfe not protobuf", &[])
        .await;
    app.events(2).await;
    app.dead_letters(1).await;

    // A batch is counted after its commit, the relay's events on their
    // acknowledgement: the events may be read a moment before either.
    let expected = [
        (
            r#"order_service_commands_applied_total{kind="create_order"}"#,
            1.0,
        ),
        (
            r#"order_service_commands_rejected_total{kind="create_order",code="ORDER_ALREADY_EXISTS"}"#,
            1.0,
        ),
        (
            r#"order_service_commands_dead_lettered_total{reason="protobuf"}"#,
            1.0,
        ),
        ("order_service_events_published_total", 2.0),
        // Each stage counts the commands that passed it: three records
        // read (the undecodable one too), two commands applied and their
        // two events handed to the relay and published.
        (
            r#"order_service_command_stage_seconds_count{stage="delivered"}"#,
            3.0,
        ),
        (
            r#"order_service_command_stage_seconds_count{stage="queued"}"#,
            3.0,
        ),
        (
            r#"order_service_command_stage_seconds_count{stage="applied"}"#,
            2.0,
        ),
        (
            r#"order_service_command_stage_seconds_count{stage="handed_over"}"#,
            2.0,
        ),
        (
            r#"order_service_command_stage_seconds_count{stage="published"}"#,
            2.0,
        ),
    ];
    let mut after = metrics(&app).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if expected
            .iter()
            .all(|(name, count)| sample(&after, name) - sample(&before, name) >= *count)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = metrics(&app).await;
    }
    let delta = |name: &str| sample(&after, name) - sample(&before, name);
    for (name, count) in expected {
        assert_eq!(delta(name), count, "{name}");
    }
    assert!(delta("order_service_batch_size_count") >= 1.0);
    // Each committed round times each of its parts once. Once every event
    // is out no round commits (a polled round with nothing to send opens
    // no transaction), so the counts settle.
    let parts = ["read", "answered", "committed"]
        .map(|part| format!(r#"order_service_relay_round_seconds_count{{part="{part}"}}"#));
    let rounds = "order_service_relay_committed_rounds_total";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline
        && parts
            .iter()
            .any(|part| sample(&after, part) != sample(&after, rounds))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = metrics(&app).await;
    }
    let delta = |name: &str| sample(&after, name) - sample(&before, name);
    assert!(delta(rounds) >= 1.0);
    for part in &parts {
        assert_eq!(delta(part), delta(rounds), "{part}");
    }
    assert!(delta("order_service_batch_apply_seconds_count") >= 1.0);
    assert!(after.contains("order_service_outbox_backlog "));
    assert!(after.contains("order_service_outbox_oldest_unpublished_age_seconds "));
    assert!(after.ends_with("# EOF\n"));

    // Lag per partition comes with librdkafka's statistics (every 5 s); once
    // everything is processed it is 0 on every partition.
    let lag_settled = |metrics: &str| {
        let lags: Vec<f64> = metrics
            .lines()
            .filter(|l| l.starts_with("order_service_consumer_lag{"))
            .map(|l| {
                l.rsplit_once(' ')
                    .expect("value")
                    .1
                    .parse()
                    .expect("number")
            })
            .collect();
        lags.len() == crate::helpers::PARTITIONS as usize && lags.iter().all(|lag| *lag == 0.0)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        if lag_settled(&after) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = metrics(&app).await;
    }
    assert!(
        lag_settled(&after),
        "lag of every partition, 0 once caught up:\n{after}"
    );

    // Every series the Grafana dashboard queries is one the service serves.
    let dashboard = include_str!("../../deploy/grafana/dashboards/order-service.json");
    let queried: std::collections::BTreeSet<&str> = dashboard
        .match_indices("order_service_")
        .map(|(at, _)| {
            let rest = &dashboard[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    assert!(queried.len() >= 10, "{queried:?}");
    for name in queried {
        assert!(
            after.lines().any(|line| line.starts_with(name)),
            "the dashboard queries {name}, which /metrics does not serve"
        );
    }
}

/// A relay held back is not this instance's fault: a transaction here that
/// took an outbox id and stays open (a long backfill, a stuck session) is
/// a gap the relay waits for, so the rows published after it stay above
/// the watermark and age. `/readyz` still answers 200 — on every instance
/// it would otherwise drain the HTTP front — and its body says the relay
/// lags.
#[tokio::test]
async fn a_relay_held_back_leaves_the_instance_ready_and_the_body_says_so() {
    let mut app = spawn_app_with(|s| s.readiness.ready_max_outbox_age_secs = 1).await;
    app.await_readiness(Duration::from_secs(60), |status, _| status == 200)
        .await;
    let mut holder = app.db();
    holder
        .batch_execute("BEGIN; SELECT txid_current(); SELECT nextval('outbox_id_seq')")
        .expect("hold an outbox id in an open transaction");
    app.send(&create_order(&new_id(), "u-held")).await;
    app.events(1).await;
    let body = app
        .await_readiness(Duration::from_secs(60), |status, body| {
            assert_eq!(status, 200, "ready while the relay lags: {body}");
            body["relay"]["lagging"] == true
        })
        .await;
    assert!(body["relay"]["oldest_unpublished_age_seconds"].as_f64() > Some(1.0));
    holder.batch_execute("ROLLBACK").expect("rollback");
}
