//! A network cut, for real: one instance runs in a network namespace of its
//! own, joined to the machine by a veth pair; PostgreSQL and a broker of
//! this test's own listen on the veth's addresses. While commands stream
//! in, the namespace's path to PostgreSQL is cut (a blackhole route: its
//! packets vanish) and healed, then its path to the broker. An instance in
//! the machine's own namespace carries the load meanwhile: the cut one
//! leaves the consumer group once it has not reached its database for
//! `DB_UNREACHABLE_LEAVE_SECS` (and hands the publisher role on when its
//! rounds keep failing), and comes back when healed. Nothing may be lost,
//! doubled or reordered.

use std::process::Command;
use std::time::Duration;

use order_service::loadgen::Workload;

use super::postgres::PrivatePostgres;
use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, full_scale, seeded_rng};
use crate::helpers::spawn_env_on;

/// A network namespace and the veth pair joining it to the machine: the
/// machine's end has the addresses of PostgreSQL (`.1`) and of the broker
/// (`.3`), and `.4` to talk to the namespace from; the namespace's end `.2`.
struct Netns {
    name: String,
    veth: String,
    net: String,
}

impl Netns {
    /// Needs root (CAP_NET_ADMIN), as the machines that run the tests give.
    fn create() -> Self {
        let taken = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        // A free id: another run's namespace is never touched.
        let id = std::iter::repeat_with(|| fastrand::u32(20..250))
            .find(|id| {
                !taken.contains(&format!("os-cut-{id} "))
                    && !taken.contains(&format!("os-cut-{id}\n"))
            })
            .expect("a free id");
        let netns = Self {
            name: format!("os-cut-{id}"),
            veth: format!("os-cut{id}"),
            net: format!("10.231.{id}"),
        };
        let (name, veth, net) = (&netns.name, &netns.veth, &netns.net);
        let peer = format!("{veth}p");
        ip(&["netns", "add", name]);
        ip(&["link", "add", veth, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &peer, "netns", name]);
        // `.4` first: the machine's source address toward the namespace
        // (the test's HTTP requests), which no cut touches.
        ip(&["addr", "add", &format!("{net}.4/24"), "dev", veth]);
        ip(&["addr", "add", &format!("{net}.1/24"), "dev", veth]);
        ip(&["addr", "add", &format!("{net}.3/24"), "dev", veth]);
        ip(&["link", "set", veth, "up"]);
        ip(&[
            "netns",
            "exec",
            name,
            "ip",
            "addr",
            "add",
            &format!("{net}.2/24"),
            "dev",
            &peer,
        ]);
        ip(&["netns", "exec", name, "ip", "link", "set", &peer, "up"]);
        ip(&["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
        netns
    }

    fn postgres(&self) -> String {
        format!("{}.1", self.net)
    }

    fn broker(&self) -> String {
        format!("{}.3", self.net)
    }

    fn inside(&self) -> String {
        format!("{}.2", self.net)
    }

    /// Packets from the namespace to `address` vanish.
    fn cut(&self, address: &str) {
        self.blackhole("add", address);
    }

    fn heal(&self, address: &str) {
        self.blackhole("del", address);
    }

    fn blackhole(&self, action: &str, address: &str) {
        let route = format!("{address}/32");
        let inside = [
            "netns",
            "exec",
            &self.name,
            "ip",
            "route",
            action,
            "blackhole",
            &route,
        ];
        ip(&inside);
    }

    fn delete(&self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.delete();
    }
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        output.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A broker of this test's own on `host` (scripts/lib.sh's `start_kafka`).
struct PrivateBroker {
    pid: String,
    dir: std::path::PathBuf,
    bootstrap: String,
}

impl PrivateBroker {
    fn start(host: &str) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join(format!("target/kafka-cut-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let port = crate::helpers::free_port();
        let output = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". scripts/lib.sh && start_kafka '{}' {port} && echo \"$KAFKA_PID\"",
                dir.display()
            ))
            .current_dir(root)
            .env("KAFKA_LISTEN_HOST", host)
            .output()
            .expect("run start_kafka");
        assert!(
            output.status.success(),
            "start_kafka: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self {
            pid: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            dir,
            bootstrap: format!("{host}:{port}"),
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).output();
        std::thread::sleep(Duration::from_secs(1));
        let _ = Command::new("kill").args(["-9", &self.pid]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_from_postgres_then_from_the_broker_loses_nothing() {
    let mut rng = seeded_rng("partition");
    let (cut_for, leave_after) = if full_scale() {
        (Duration::from_secs(30), 15)
    } else {
        (Duration::from_secs(12), 4)
    };
    let netns = Netns::create();
    let postgres = PrivatePostgres::start_on(&netns.postgres());
    let broker = PrivateBroker::start(&netns.broker());
    let mut app = spawn_env_on(&postgres.url(), |s| {
        s.kafka.connection.bootstrap_servers = broker.bootstrap.clone();
        s.topics.topic_replication_factor = 1;
        s.intake.batch_size = 50;
        s.intake.db_unreachable_leave_secs = leave_after;
    })
    .await;
    let settings = app.settings.clone();
    let outside = ServiceProcess::start(&settings, "partition-outside");
    let inside =
        ServiceProcess::start_in_netns(&netns.name, &netns.inside(), &settings, "partition-inside");
    for service in [&outside, &inside] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while service
            .readiness()
            .await
            .is_none_or(|(status, _)| status != 200)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "an instance never got ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let workload = Workload::lifecycles(if full_scale() { 120 } else { 45 }, 3, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let third = commands.len().div_ceil(3);
    let portions: Vec<_> = commands.chunks(third).collect();
    app.send_paced(portions[0], 5, Duration::from_millis(50))
        .await;

    for (portion, target) in [
        (portions[1], netns.postgres()),
        (portions[2], netns.broker()),
    ] {
        netns.cut(&target);
        let pause = cut_for / (portion.len() as u32 / 2).max(1);
        let from_database = target == netns.postgres();
        let watch = async {
            // Cut from its database, the instance leaves the group; cut from
            // the broker, the group drops it after its session timeout.
            // Either way the other one takes every partition.
            let deadline = tokio::time::Instant::now() + cut_for;
            let mut seen = (None, None);
            while tokio::time::Instant::now() < deadline {
                seen = (inside.readiness().await, outside.readiness().await);
                let left = !from_database
                    || seen
                        .0
                        .as_ref()
                        .is_some_and(|(_, body)| body["checks"]["consumer"]["ok"] == false);
                let took_all = seen.1.as_ref().is_some_and(|(_, body)| {
                    body["checks"]["consumer"]["assigned_partitions"]
                        == settings.topics.topic_partitions
                });
                if left && took_all {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            println!(
                "partition: last seen inside {:?}, outside {:?}",
                seen.0, seen.1
            );
            false
        };
        let ((), handed_over) = tokio::join!(app.send_paced(portion, 2, pause), watch);
        netns.heal(&target);
        println!(
            "partition: cut from {target} for {cut_for:?}; partitions handed over: {handed_over}"
        );
        assert!(
            handed_over,
            "the instance cut from its database left the group to the other"
        );
    }

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 2, &mut app.db());
    println!("partition: {result}");
    assert!(result.is_clean(), "{result}");
    // Healed, the instance joined again and owns partitions.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while inside.readiness().await.is_none_or(|(status, body)| {
        status != 200 || body["checks"]["consumer"]["assigned_partitions"] == 0
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the healed instance never got ready again"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for service in [outside, inside] {
        let status = service.terminate(SHUTDOWN_BOUND).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
    drop(app);
    drop(broker);
}
