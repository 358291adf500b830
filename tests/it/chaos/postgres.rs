//! Database faults: connections killed mid-transaction and PostgreSQL
//! restarted while commands flow. The service retries with backoff, says so
//! in its log and in `/readyz`, resumes by itself, and loses or doubles
//! nothing.
//!
//! The restart needs a server of the test's own: it initialises a private
//! cluster in a temporary folder (initdb) on a free port, so the machine's
//! PostgreSQL, shared by the other tests, is never restarted.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use diesel::prelude::*;
use order_service::loadgen::Workload;

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, seeded_rng, wait_for_progress};
use crate::helpers::spawn_env_on;

/// A PostgreSQL server of this test's own.
pub(super) struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    /// The address clients connect to (it also listens on 127.0.0.1).
    host: String,
}

impl PrivatePostgres {
    fn start() -> Self {
        Self::start_on("127.0.0.1")
    }

    /// A server listening on `host` too (the partition test's veth address).
    pub(super) fn start_on(host: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("order-service-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = crate::helpers::free_port();
        let server = Self {
            dir,
            port,
            host: host.to_owned(),
        };
        // initdb refuses to run as root: run it as the postgres user then.
        if is_root() {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&server.dir));
        }
        server.pg(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D"],
        );
        if host != "127.0.0.1" {
            // Clients on the networks the server is attached to (the veth).
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .append(true)
                .open(server.dir.join("data").join("pg_hba.conf"))
                .and_then(|mut hba| {
                    let net = host.rsplit_once('.').map_or(host, |(net, _)| net);
                    writeln!(hba, "host all all {net}.0/24 trust")
                })
                .expect("open pg_hba.conf to the veth's network");
        }
        server.up();
        server
    }

    pub(super) fn url(&self) -> String {
        format!("postgres://postgres@{}:{}/postgres", self.host, self.port)
    }

    fn up(&self) {
        let listen = if self.host == "127.0.0.1" {
            self.host.clone()
        } else {
            format!("127.0.0.1,{}", self.host)
        };
        let options = format!(
            "-p {} -c listen_addresses={listen} -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        self.pg(
            "pg_ctl",
            &[
                "-w",
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "start",
                "-D",
            ],
        );
    }

    /// `-m immediate`: like a crash, no checkpoint, clients cut off.
    fn down(&self) {
        self.pg("pg_ctl", &["-w", "-m", "immediate", "stop", "-D"]);
    }

    /// Runs a PostgreSQL program with the data folder as last argument.
    fn pg(&self, program: &str, args: &[&str]) {
        let bin = PathBuf::from("/usr/lib/postgresql")
            .join(postgres_version())
            .join("bin")
            .join(program);
        let data = self.dir.join("data");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        run(command.args(args).arg(data));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| self.down());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn postgres_version() -> String {
    let mut versions: Vec<String> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) {
    let output = command.output().expect("run command");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn terminate_backends(admin_url: &str, database: &str) -> usize {
    let mut admin = PgConnection::establish(admin_url).unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut admin)
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_and_postgres_restarted_lose_and_double_nothing() {
    let mut rng = seeded_rng("postgres");
    let server = PrivatePostgres::start();
    let workload = Workload::lifecycles(80, 8, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_env_on(&server.url(), |s| s.intake.batch_size = 50).await;
    let settings = app.settings.clone();
    let database = settings
        .database
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let service = ServiceProcess::start(&settings, "postgres-0");

    // Five portions; a fault while each of the first four streams in.
    let mut faults = 0;
    let portion = commands.len().div_ceil(5);
    for (round, portion) in commands.chunks(portion).enumerate() {
        let send = app.send_paced(portion, 20, Duration::from_millis(20));
        let fault = async {
            if round >= 4 {
                return 0;
            }
            wait_for_progress(&settings.database.database_url).await;
            tokio::time::sleep(Duration::from_millis(rng.u64(0..100))).await;
            if round % 2 == 0 {
                let killed = terminate_backends(&server.url(), &database);
                println!("postgres: terminated {killed} connections");
            } else {
                server.down();
                let (status, body) = service.readiness().await.expect("/readyz answers");
                assert_eq!(status, 503, "not ready without its database: {body}");
                assert_eq!(body["checks"]["database"]["ok"], false, "{body}");
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                server.up();
                println!("postgres: restarted the server");
            }
            1
        };
        let ((), injected) = tokio::join!(send, fault);
        faults += injected;
    }

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, faults, &mut app.db());
    println!("postgres: {result}");
    assert!(result.is_clean(), "{result}");

    let log = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/chaos-logs/postgres-0.log"),
    )
    .unwrap();
    assert!(log.contains("will retry"), "the log says it is retrying");
    let (status, body) = service.readiness().await.expect("/readyz answers");
    assert_eq!(status, 200, "ready again: {body}");
    let status = service.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
