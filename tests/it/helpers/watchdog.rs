//! A bound on every test: `cargo test` has none of its own, so one hung
//! test would hold the whole run until CI's limit and say nothing. A test
//! thread that made a `TestApp` and has not ended `TEST_TIMEOUT_SECS`
//! (default 1200) after its first one stops the run, after printing the
//! test's name and what its database's sessions are doing and waiting for.
//! The thread's end, not the app's drop, ends the watch: a test can hang
//! after its app is gone (its runtime shutting down).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

struct Entry {
    test: String,
    since: Instant,
    /// The test's last database, as the admin user: to read its sessions.
    admin_url: String,
}

static WATCHED: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());

/// This thread's watch, ended by the thread's end.
struct Watch(u64);

impl Drop for Watch {
    fn drop(&mut self) {
        WATCHED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

thread_local! {
    static WATCH: RefCell<Option<Watch>> = const { RefCell::new(None) };
}

/// Watches the test running on this thread (libtest names it after the
/// test) from its first app on, with its database at `admin_url`.
pub fn watch(admin_url: &str) {
    static PATROL: std::sync::Once = std::sync::Once::new();
    PATROL.call_once(|| {
        std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(patrol)
            .expect("the test watchdog");
    });
    WATCH.with(|watch| {
        let mut watch = watch.borrow_mut();
        let id = watch.get_or_insert_with(|| Watch(fastrand::u64(..))).0;
        let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let entry = watched.entry(id).or_insert_with(|| Entry {
            test: test.clone(),
            since: Instant::now(),
            admin_url: admin_url.to_owned(),
        });
        // Should libtest run tests one after another on one thread (it
        // does when it cannot start one), the watch restarts with each.
        if entry.test != test {
            entry.test = test;
            entry.since = Instant::now();
        }
        entry.admin_url = admin_url.to_owned();
    });
}

fn limit() -> Duration {
    let secs = std::env::var("TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1200);
    Duration::from_secs(secs)
}

fn patrol() {
    let limit = limit();
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let overdue: Vec<(String, Duration, String)> = WATCHED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|entry| entry.since.elapsed() > limit)
            .map(|entry| {
                (
                    entry.test.clone(),
                    entry.since.elapsed(),
                    entry.admin_url.clone(),
                )
            })
            .collect();
        if overdue.is_empty() {
            continue;
        }
        // The report waits 10 s at most: the database may be what hangs.
        let (report, reported) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Straight to the stream: libtest captures `eprintln!` of a
            // thread spawned by a test, and would show it only at its end.
            let mut out = std::io::stderr().lock();
            for (test, elapsed, admin_url) in &overdue {
                let _ = writeln!(
                    out,
                    "\nWATCHDOG: {test} has run for {} s (TEST_TIMEOUT_SECS {}): stopping the run",
                    elapsed.as_secs(),
                    limit.as_secs()
                );
                let _ = match sessions(admin_url) {
                    Ok(lines) if lines.is_empty() => writeln!(out, "  no session on its database"),
                    Ok(lines) => lines.iter().try_for_each(|line| writeln!(out, "  {line}")),
                    Err(e) => writeln!(out, "  its database's sessions could not be read: {e}"),
                };
            }
            let _ = out.flush();
            let _ = report.send(());
        });
        let _ = reported.recv_timeout(Duration::from_secs(10));
        // At once, without the exit handlers: librdkafka's and the
        // runtimes' threads are still running.
        unsafe { libc::_exit(124) }
    }
}

#[derive(QueryableByName)]
struct Session {
    #[diesel(sql_type = Text)]
    line: String,
}

/// One line per session on the database of `admin_url`: who, in what
/// state, waiting for what, blocked by whom, since when, doing what.
fn sessions(admin_url: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let mut conn = PgConnection::establish(&format!("{admin_url}{separator}connect_timeout=5"))?;
    conn.batch_execute("SET statement_timeout = '5s'")?;
    let rows = diesel::sql_query(
        "SELECT format('pid %s %s app=%s state=%s wait=%s/%s blocked_by=%s xact=%s s query=%s', \
             pid, usename, application_name, state, wait_event_type, wait_event, \
             pg_blocking_pids(pid), \
             round(extract(epoch FROM now() - xact_start)), left(query, 300)) AS line \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         ORDER BY xact_start NULLS LAST",
    )
    .load::<Session>(&mut conn)?;
    Ok(rows.into_iter().map(|s| s.line).collect())
}
