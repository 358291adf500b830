//! The publisher role under faults, read as a consumer of `order-events`
//! with `isolation.level=read_committed` sees it: a paused holder is
//! replaced within seconds and stays deposed when it wakes; a producer
//! fenced by another with one of the relay's transactional ids gives up
//! its term and publishing resumes by itself; records the broker refuses abort
//! their round, which goes again whole, and end no term. In every case
//! each event arrives once, in order per order.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use order_service::loadgen::Workload;
use rdkafka::admin::{AdminClient, AdminOptions, AlterConfig, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, Producer};

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, full_scale, seeded_rng};
use crate::helpers::{create_order, new_id, spawn_app_with, spawn_env_with, test_client_config};

#[derive(QueryableByName, Debug, Clone, PartialEq)]
pub(super) struct Holder {
    #[diesel(sql_type = Nullable<Text>)]
    holder: Option<String>,
    #[diesel(sql_type = BigInt)]
    generation: i64,
    #[diesel(sql_type = Text)]
    pub(super) transactional_id: String,
}

pub(super) fn holder(conn: &mut PgConnection) -> Holder {
    diesel::sql_query("SELECT holder, generation, transactional_id FROM outbox_relay")
        .get_result(conn)
        .expect("read the lease")
}

/// Waits up to a minute for the lease to be held by someone other than
/// `not`.
async fn held_by_other_than(conn: &mut PgConnection, not: Option<&str>) -> Holder {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = holder(conn);
        if now.holder.is_some() && now.holder.as_deref() != not {
            return now;
        }
        assert!(Instant::now() < deadline, "no new holder in 60 s: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_publisher_is_replaced_within_seconds_and_stays_deposed() {
    let mut app = spawn_env_with(|s| s.topics.topic_partitions = 6).await;
    let settings = app.settings.clone();
    let mut conn = app.db();
    let a = ServiceProcess::start(&settings, "paused-a");
    let first = held_by_other_than(&mut conn, None).await;
    let b = ServiceProcess::start(&settings, "paused-b");
    // Both hold partitions before the pause.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !b.readiness().await.is_some_and(|(_, body)| {
        body["checks"]["consumer"]["assigned_partitions"].as_u64() > Some(0)
    }) {
        assert!(
            Instant::now() < deadline,
            "the second instance got no partition"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let warm: Vec<_> = (0..20).map(|_| create_order(&new_id(), "u")).collect();
    app.send_all(&warm).await;
    app.events(20).await;

    a.signal("STOP");
    let paused = Instant::now();
    let orders: Vec<_> = (0..50).map(|_| create_order(&new_id(), "u")).collect();
    app.send_all(&orders).await;
    let _ = app
        .events_until(Duration::from_secs(60), |received| received.len() > 20)
        .await;
    let resumed = paused.elapsed();
    let _ = app
        .events_until(Duration::from_secs(60), |received| received.len() >= 70)
        .await;
    let all = paused.elapsed();
    let second = holder(&mut conn);
    println!(
        "paused publisher: events resumed {resumed:?} after the pause, all 50 after {all:?}; \
         holder {first:?} -> {second:?}"
    );
    assert_eq!(distinct(&app.received), 70, "every event arrives");
    assert!(
        resumed < Duration::from_secs(20),
        "events resumed only after {resumed:?} (bound: 20 s)"
    );
    assert_ne!(second.holder, first.holder, "the other instance took over");
    assert!(second.generation > first.generation);

    // Paused for a minute in all, then woken: it must not take the role
    // back, and it says it lost it.
    tokio::time::sleep_until((paused + Duration::from_secs(60)).into()).await;
    a.signal("CONT");
    let more: Vec<_> = (0..20).map(|_| create_order(&new_id(), "u")).collect();
    app.send_all(&more).await;
    let _ = app
        .events_until(Duration::from_secs(60), |received| received.len() >= 90)
        .await;
    // Whatever the woken instance could still send would be read by now.
    let _ = app.events_until(Duration::from_secs(3), |_| false).await;
    assert_eq!(
        holder(&mut conn),
        second,
        "the holder stays the other instance"
    );
    let log = std::fs::read_to_string(ServiceProcess::log_path("paused-a")).expect("log");
    assert!(
        log.contains("this instance lost the publisher role"),
        "the woken instance logs that it lost the role"
    );
    assert_eq!(app.received.len(), 90, "each event once");
    assert_eq!(distinct(&app.received), 90);
    for service in [a, b] {
        let status = service.terminate(SHUTDOWN_BOUND).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_producer_gives_up_its_term_and_publishing_resumes() {
    let mut rng = seeded_rng("fenced");
    let workload = Workload::lifecycles(30, 4, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_app_with(|_| {}).await;
    let mut conn = app.db();
    let (before, after) = commands.split_at(commands.len() / 2);
    app.send_all(before).await;
    app.events(before.len()).await;

    // Another producer under each of the relay's transactional ids in
    // turn (it takes two in turns): its init_transactions fences the
    // relay's producer with that id, which fails fatally at its next
    // transaction; the term ends and the next one fences the intruder.
    let tid = holder(&mut conn).transactional_id;
    let (middle, after) = after.split_at(after.len() / 2);
    for (terms, (id, batch)) in [(tid.clone(), middle), (format!("{tid}-1"), after)]
        .into_iter()
        .enumerate()
    {
        let intruder: BaseProducer = test_client_config(&app.settings.kafka.connection)
            .set("transactional.id", &id)
            .create()
            .expect("intruder");
        intruder
            .init_transactions(Duration::from_secs(30))
            .expect("init_transactions");
        // Two at a time: many rounds, each producer's turn comes.
        app.send_paced(batch, 2, Duration::from_millis(100)).await;
        let want = format!("order_service_relay_terms_total {}\n", terms + 2);
        let metrics = app.metrics_with(&[want.as_str()]).await;
        assert_eq!(
            metric(&metrics, "order_service_relay_terms_total"),
            terms as u64 + 2,
            "fencing {id} ends the term: {metrics}"
        );
    }
    let _ = app
        .events_until(Duration::from_secs(60), |received| {
            distinct(received) >= commands.len()
        })
        .await;
    let result = audit(&workload, &app.received, 1, &mut conn);
    println!("fenced: {result}");
    assert!(result.is_clean(), "{result}");
}

/// The value of the unlabelled metric `name`, 0 when absent.
pub(super) fn metric(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_the_broker_refuses_abort_their_round_and_overtake_nothing() {
    let mut rng = seeded_rng("refused");
    let (orders, items) = if full_scale() { (200, 6) } else { (60, 4) };
    let workload = Workload::lifecycles(orders, items, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_app_with(|_| {}).await;
    let mut conn = app.db();
    let topic = app.settings.kafka.events_topic.clone();
    let admin: AdminClient<DefaultClientContext> =
        test_client_config(&app.settings.kafka.connection)
            .create()
            .expect("admin");
    let set = |max: Option<&'static str>| {
        let mut config = AlterConfig::new(ResourceSpecifier::Topic(&topic));
        if let Some(max) = max {
            config = config.set("max.message.bytes", max);
        }
        let admin = &admin;
        async move {
            let results = admin
                .alter_configs(&[config], &AdminOptions::new())
                .await
                .expect("alter configs");
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
    };

    // For 10 s the topic takes no record batch over 700 bytes: a record of
    // its own passes, several of one partition together do not.
    set(Some("700")).await;
    let refused_from = Instant::now();
    let send = app.send_paced(&commands, 40, Duration::from_millis(50));
    let restore = async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        set(None).await;
    };
    tokio::join!(send, restore);
    println!("refused: records refused for {:?}", refused_from.elapsed());
    let _ = app
        .events_until(Duration::from_secs(120), |received| {
            distinct(received) >= commands.len()
        })
        .await;
    let result = audit(&workload, &app.received, 1, &mut conn);
    println!("refused: {result}");
    assert!(result.is_clean(), "{result}");
    let metrics = app.metrics().await;
    let aborted = metric(&metrics, "order_service_relay_aborted_rounds_total");
    println!("refused: {aborted} rounds aborted");
    assert!(
        aborted > 0,
        "the broker refused nothing: the test proves nothing"
    );
    // Refused records end no term: the one publisher carried on.
    assert_eq!(metric(&metrics, "order_service_relay_terms_total"), 1);
}
