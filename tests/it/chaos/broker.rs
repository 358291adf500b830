//! Broker faults, injected with librdkafka's mock cluster: produce errors,
//! offset-commit errors, dropped connections, a broker down, a slow broker.
//! The relay must never drop or reorder an order's events, the consumer
//! never skip a command.

use std::time::Duration;

use order_service::loadgen::Workload;
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use super::process::SHUTDOWN_BOUND;
use super::{audit, distinct, seeded_rng, use_mock_cluster, wait_for_progress};
use crate::helpers::{spawn_app_with, spawn_env_with};

/// Injects fault number `round`; returns what it did.
async fn inject(mock: &MockCluster<'_, impl rdkafka::ClientContext>, round: usize) -> &'static str {
    use RDKafkaRespErr::*;
    match round {
        0 => {
            let errors = [
                RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            ];
            mock.request_errors(RDKafkaApiKey::Produce, &errors.repeat(4));
            "produce errors"
        }
        1 => {
            let errors = [
                RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            ];
            mock.request_errors(RDKafkaApiKey::OffsetCommit, &errors.repeat(5));
            "offset-commit errors"
        }
        2 => {
            mock.request_errors(RDKafkaApiKey::Fetch, &[RD_KAFKA_RESP_ERR__TRANSPORT; 3]);
            mock.request_errors(RDKafkaApiKey::Produce, &[RD_KAFKA_RESP_ERR__TRANSPORT; 3]);
            "connections dropped"
        }
        3 => {
            mock.broker_down(2).expect("broker down");
            tokio::time::sleep(Duration::from_secs(2)).await;
            mock.broker_up(2).expect("broker up");
            "broker 2 down for 2 s"
        }
        _ => {
            mock.broker_round_trip_time(1, Duration::from_millis(300))
                .expect("slow broker");
            tokio::time::sleep(Duration::from_secs(2)).await;
            mock.broker_round_trip_time(1, Duration::ZERO)
                .expect("fast broker");
            "broker 1 slow (300 ms) for 2 s"
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_faults_lose_reorder_and_double_nothing() {
    let mut rng = seeded_rng("broker");
    let mock = MockCluster::new(3).expect("mock cluster");
    let workload = Workload::lifecycles(80, 8, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_app_with(|s| {
        s.intake.batch_size = 50;
        use_mock_cluster(&mock, s);
    })
    .await;
    let database_url = app.settings.database.database_url.clone();

    let rounds = 5;
    let portion = commands.len().div_ceil(rounds + 1);
    for (round, portion) in commands.chunks(portion).enumerate() {
        let send = app.send_paced(portion, 20, Duration::from_millis(10));
        let fault = async {
            if round < rounds {
                wait_for_progress(&database_url).await;
                println!("broker: {}", inject(&mock, round).await);
            }
        };
        tokio::join!(send, fault);
    }

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, rounds, &mut app.db());
    println!("broker: {result}");
    assert!(result.is_clean_on_the_mock_cluster(), "{result}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_not_ready_while_no_broker_is_reachable() {
    let mock = MockCluster::new(3).expect("mock cluster");
    let app = spawn_app_with(|s| use_mock_cluster(&mock, s)).await;
    app.await_readiness(Duration::from_secs(30), |status, _| status == 200)
        .await;

    for broker in 1..=3 {
        mock.broker_down(broker).expect("broker down");
    }
    // librdkafka's statistics come every 5 s.
    let down = app
        .await_readiness(Duration::from_secs(30), |status, body| {
            status == 503 && body["checks"]["broker"]["ok"] == false
        })
        .await;
    assert_eq!(down["status"], "not_ready");
    assert_eq!(down["checks"]["database"]["ok"], true);

    for broker in 1..=3 {
        mock.broker_up(broker).expect("broker up");
    }
    app.await_readiness(Duration::from_secs(30), |status, body| {
        status == 200 && body["checks"]["broker"]["ok"] == true
    })
    .await;
}

/// With every broker gone, SIGTERM still ends the service within the
/// shutdown bound (30 s; about 7.5 s measured):
/// positions are in the database, so nothing waits on Kafka to be safe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_in_bounded_time_while_no_broker_is_reachable() {
    let mut rng = seeded_rng("shutdown-broker-down");
    let mock = MockCluster::new(3).expect("mock cluster");
    let workload = Workload::lifecycles(20, 4, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let app = spawn_env_with(|s| use_mock_cluster(&mock, s)).await;
    let service = super::process::ServiceProcess::start(&app.settings, "shutdown-broker-down");
    let send = app.send_paced(&commands, 20, Duration::from_millis(10));
    let progress = wait_for_progress(&app.settings.database.database_url);
    tokio::join!(send, progress);
    for broker in 1..=3 {
        mock.broker_down(broker).expect("broker down");
    }
    // Let the clients notice, with events and commits in flight.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = std::time::Instant::now();
    let status = service.terminate(SHUTDOWN_BOUND).await;
    println!(
        "shutdown with brokers down: {status:?} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        status.is_some(),
        "the service did not exit within {SHUTDOWN_BOUND:?}"
    );
}

/// All brokers down for a long time under load: rounds fail and are
/// aborted until the brokers return, then every event arrives, in order
/// per order. (Copies of aborted rounds are counted and printed: the mock
/// cluster shows them to read_committed readers, Apache Kafka does not.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_broker_outage_loses_and_reorders_nothing() {
    let mut rng = seeded_rng("outage");
    let outage = Duration::from_secs(if super::full_scale() { 60 } else { 35 });
    let mock = MockCluster::new(3).expect("mock cluster");
    let workload = Workload::lifecycles(60, 6, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_app_with(|s| {
        s.intake.batch_size = 20;
        use_mock_cluster(&mock, s);
    })
    .await;
    let database_url = app.settings.database.database_url.clone();
    let (first, rest) = commands.split_at(commands.len() / 2);
    let send = app.send_paced(first, 10, Duration::from_millis(5));
    tokio::join!(send, wait_for_progress(&database_url));
    // Down while batches are being applied and their events published.
    for broker in 1..=3 {
        mock.broker_down(broker).expect("broker down");
    }
    tokio::time::sleep(outage).await;
    for broker in 1..=3 {
        mock.broker_up(broker).expect("broker up");
    }
    app.send_paced(rest, 10, Duration::from_millis(5)).await;

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    // A little longer: copies, if any, arrive behind the originals.
    let _ = app
        .events_until(Duration::from_secs(3), |r| r.len() > expected)
        .await;
    let mut copies: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for event in &app.received {
        *copies.entry(event.event_id.as_str()).or_default() += 1;
    }
    let most = copies.values().copied().max().unwrap_or(0);
    let result = audit(&workload, &app.received, 1, &mut app.db());
    println!(
        "outage: {} s, {} events, most copies of one event: {most}: {result}",
        outage.as_secs(),
        copies.len()
    );
    // Copies of aborted rounds stay visible on the mock cluster (see
    // `is_clean_on_the_mock_cluster`): counted, not failed.
    assert!(result.is_clean_on_the_mock_cluster(), "{result}");
    app.stop().await;
}
