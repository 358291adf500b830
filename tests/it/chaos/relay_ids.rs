//! The relay's transactional ids: every term start fences all the ids a
//! holder may have used, however many producers it uses itself; an id
//! after the first that the cluster refuses leaves the relay the others.

use std::time::Duration;

use diesel::prelude::*;
use order_service::loadgen::Workload;
use order_service::proto::OrderCommand;
use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::publisher::{holder, metric};
use super::{Audit, audit, distinct, seeded_rng, use_mock_cluster};
use crate::helpers::{TestApp, spawn_app_with, test_client_config};

/// A cluster that lets the relay use its first transactional id and not
/// the second (an ACL on the exact id, from before there were two): the
/// relay publishes with the first alone, and every event arrives, in order
/// per order.
/// (librdkafka's mock cluster: it refuses the id when told, from outside.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_second_transactional_id_leaves_the_relay_its_first() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let mut rng = seeded_rng("refused-id");
    let mock = MockCluster::new(3).expect("mock cluster");
    let workload = Workload::lifecycles(20, 4, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_app_with(|s| use_mock_cluster(&mock, s)).await;
    let (before, after) = commands.split_at(commands.len() / 2);
    app.send_all(before).await;
    app.events(before.len()).await;

    // Every client has its producer id now. From here each start of a
    // term is answered: the first id granted, the others refused.
    // (A term start asks for the first id alone, then for the three after
    // it at once.)
    let refused = RDKafkaRespErr::RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    let answers: Vec<RDKafkaRespErr> = (0..10)
        .flat_map(|_| {
            [
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR,
                refused,
                refused,
                refused,
            ]
        })
        .collect();
    mock.request_errors(RDKafkaApiKey::InitProducerId, &answers);
    new_term(&app).await;
    // Nothing else on the mock cluster is to be refused.
    mock.clear_request_errors(RDKafkaApiKey::InitProducerId);

    let result = send_the_rest_and_audit(&mut app, &workload, after, commands.len()).await;
    println!("refused id: {result}");
    assert!(result.is_clean_on_the_mock_cluster(), "{result}");
    let metrics = app.metrics().await;
    assert_eq!(
        metric(&metrics, "order_service_relay_terms_total"),
        2,
        "the deposed term ended and one term followed: {metrics}"
    );
    assert_eq!(
        metric(&metrics, "order_service_relay_producers"),
        1,
        "the second term publishes with the first id alone: {metrics}"
    );
}

/// A holder that used an id this term does not (with more
/// `RELAY_PRODUCERS` before a change, or paused mid-round) is fenced at
/// the next term's start all the same: its open transaction is aborted
/// and cannot commit, and publishing goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_term_fences_every_id_an_earlier_holder_may_have_used() {
    let mut rng = seeded_rng("fence-all");
    let workload = Workload::lifecycles(10, 3, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_app_with(|_| {}).await;
    let (before, after) = commands.split_at(commands.len() / 2);
    app.send_all(before).await;
    app.events(before.len()).await;

    // An earlier holder's producer under the last id (this one uses two),
    // a record written in its open transaction.
    let tid = holder(&mut app.db()).transactional_id;
    let stale: BaseProducer = test_client_config(&app.settings.kafka.connection)
        .set("transactional.id", format!("{tid}-3"))
        // The broker would abort it after a minute by itself: only a fence
        // ends it within the test.
        .set("transaction.timeout.ms", "600000")
        .create()
        .expect("stale producer");
    stale
        .init_transactions(Duration::from_secs(30))
        .expect("init_transactions");
    stale.begin_transaction().expect("begin");
    let topic = app.settings.kafka.relay_topic();
    stale
        .send(
            BaseRecord::to(&topic)
                .partition(0)
                .key("stale")
                .payload("stale"),
        )
        .map_err(|(e, _)| e)
        .expect("send");
    stale
        .flush(Duration::from_secs(30))
        .expect("the record is written");

    new_term(&app).await;
    let committed = stale.commit_transaction(Duration::from_secs(30));
    assert!(
        matches!(&committed, Err(KafkaError::Transaction(e)) if e.is_fatal()),
        "the new term fenced {tid}-3, the earlier holder cannot commit: {committed:?}"
    );

    let result = send_the_rest_and_audit(&mut app, &workload, after, commands.len()).await;
    println!("fence all: {result}");
    assert!(result.is_clean(), "{result}");
}

/// Sends `rest` of the workload's commands, waits (a minute at most) until
/// `total` distinct events arrived, and audits them, one fault injected.
async fn send_the_rest_and_audit(
    app: &mut TestApp,
    workload: &Workload,
    rest: &[OrderCommand],
    total: usize,
) -> Audit {
    app.send_all(rest).await;
    let _ = app
        .events_until(Duration::from_secs(60), |received| {
            distinct(received) >= total
        })
        .await;
    audit(workload, &app.received, 1, &mut app.db())
}

/// Raises the lease's generation under the relay (as a takeover does):
/// its renewal fails, its term ends, and it takes the role again; returns
/// once the second term started.
async fn new_term(app: &TestApp) {
    diesel::sql_query("UPDATE outbox_relay SET generation = generation + 1")
        .execute(&mut app.db())
        .expect("raise the generation");
    let metrics = app
        .metrics_with(&["order_service_relay_terms_total 2\n"])
        .await;
    assert_eq!(
        metric(&metrics, "order_service_relay_terms_total"),
        2,
        "a new term started: {metrics}"
    );
}
