//! CPU time by process over a run, from /proc: the broker, PostgreSQL, the
//! service and the bench itself (load generator and reader, and HTTP
//! readers when a run has them). On a machine that runs them all, it shows
//! whether a run was short of cores and who took them.
//!
//! PostgreSQL is the postmaster of the run's database and its children,
//! those alive at both ends of the run and those that ended within it (the
//! postmaster's reaped children, less what they had used before the run).
//! The broker is the process `BENCH_BROKER_PID` names (`scripts/bench`
//! sets it), else every process running `kafka.Kafka`. Other work of the
//! same PostgreSQL or broker counts too: the figures are the machine's.

use std::fmt::Write as _;
use std::time::Instant;

use super::phase::PhaseResult;

/// The groups, in the order they are printed.
pub const GROUPS: [&str; 4] = ["broker", "PostgreSQL", "service", "bench"];

/// The processes whose CPU is counted, besides the bench's own.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pub service: u32,
    /// The run's PostgreSQL (its postmaster); `None` leaves it out.
    pub postmaster: Option<u32>,
    /// The broker; `None`: every process running `kafka.Kafka`.
    pub broker: Option<u32>,
}

impl Watched {
    /// The service's pid, the postmaster serving `database_url` and the
    /// broker named by `BENCH_BROKER_PID`.
    pub fn find(service: u32, database_url: &str) -> Self {
        let postmaster = backend_pid(database_url).and_then(|backend| {
            let stat = std::fs::read_to_string(format!("/proc/{backend}/stat")).ok()?;
            // The fields after the name: state, then the parent's pid.
            parse_stat(&stat)?.1.get(1)?.parse().ok()
        });
        if postmaster.is_none() {
            eprintln!("    (cpu: PostgreSQL's processes not found here; its CPU is left out)");
        }
        let broker = std::env::var("BENCH_BROKER_PID")
            .ok()
            .and_then(|pid| pid.parse().ok());
        Self {
            service,
            postmaster,
            broker,
        }
    }
}

/// The pid of the backend serving a connection of our own.
fn backend_pid(database_url: &str) -> Option<u32> {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let mut conn = PgConnection::establish(database_url).ok()?;
    let backend: Backend = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result(&mut conn)
        .ok()?;
    u32::try_from(backend.pid).ok()
}

/// CPU ticks by process and group at one moment.
pub struct Snapshot {
    at: Instant,
    /// (pid, group, ticks) of each process of a group.
    processes: Vec<(u32, usize, u64)>,
}

/// What a run used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuUse {
    /// Wall-clock seconds between the two snapshots.
    pub seconds: f64,
    /// CPU seconds of each of [`GROUPS`].
    pub cpu_seconds: [f64; 4],
    /// The cores the bench may use (its affinity).
    pub cores: usize,
}

impl CpuUse {
    /// The share of all cores the groups took together.
    pub fn busy_share(&self) -> f64 {
        self.cpu_seconds.iter().sum::<f64>() / (self.seconds * self.cores as f64).max(1e-9)
    }
}

/// Every watched process now.
pub fn snapshot(watched: &Watched) -> Snapshot {
    let own = std::process::id();
    let mut processes = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, fields)) = parse_stat(&stat) else {
            continue;
        };
        let parent = fields.get(1).and_then(|p| p.parse::<u32>().ok());
        let group = if pid == watched.service {
            2
        } else if pid == own {
            3
        } else if watched
            .postmaster
            .is_some_and(|pm| pid == pm || parent == Some(pm))
        {
            1
        } else if watched
            .broker
            .map_or_else(|| is_broker(pid), |broker| pid == broker)
        {
            0
        } else {
            continue;
        };
        processes.push((pid, group, ticks(&fields, group == 1)));
    }
    Snapshot {
        at: Instant::now(),
        processes,
    }
}

/// What each group used from `start` to `end`.
pub fn between(start: &Snapshot, end: &Snapshot) -> CpuUse {
    let before = |pid: u32, group: usize| {
        start
            .processes
            .iter()
            .find(|(p, g, _)| *p == pid && *g == group)
            .map_or(0, |(_, _, t)| *t)
    };
    let mut ticks = [0u64; 4];
    for &(pid, group, now) in &end.processes {
        ticks[group] += now.saturating_sub(before(pid, group));
    }
    // A PostgreSQL process that ended within the run is in its
    // postmaster's children's time whole: less what it used before.
    for &(pid, group, then) in &start.processes {
        if group == 1 && !end.processes.iter().any(|(p, g, _)| *p == pid && *g == 1) {
            ticks[1] = ticks[1].saturating_sub(then);
        }
    }
    let per_second = clock_ticks_per_second();
    CpuUse {
        seconds: end.at.duration_since(start.at).as_secs_f64(),
        cpu_seconds: ticks.map(|t| t as f64 / per_second),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// `broker 8.30 s, … in 13.0 s: 84% of 2 cores; 640 / … µs a command`.
pub fn line(used: &CpuUse, commands: usize) -> String {
    let groups: Vec<String> = GROUPS
        .iter()
        .zip(used.cpu_seconds)
        .map(|(name, s)| format!("{name} {s:.2} s"))
        .collect();
    format!(
        "{} in {:.1} s: {:.0}% of {} cores; {} µs a command",
        groups.join(", "),
        used.seconds,
        100.0 * used.busy_share(),
        used.cores,
        per_command(used, commands).join(" / ")
    )
}

/// Each group's CPU per command, in µs.
fn per_command(used: &CpuUse, commands: usize) -> Vec<String> {
    used.cpu_seconds
        .iter()
        .map(|s| format!("{:.0}", s * 1e6 / commands.max(1) as f64))
        .collect()
}

/// The table of each run's CPU by process, in Markdown.
pub(super) fn markdown(out: &mut String, results: &[PhaseResult]) {
    let Some(first) = results.first() else {
        return;
    };
    let _ = writeln!(
        out,
        "\nCPU by process over each run (from /proc, CPU seconds; the share of all {} cores they took together; µs a command, {}):\n\n| run | seconds | {} | busy | µs a command |\n|---|---:|{}---:|---:|",
        first.cpu.cores,
        GROUPS.join(" / "),
        GROUPS.join(" | "),
        "---:|".repeat(GROUPS.len())
    );
    for r in results {
        let cpu: Vec<String> = r
            .cpu
            .cpu_seconds
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {:.1} | {} | {:.0}% | {} |",
            r.name,
            r.cpu.seconds,
            cpu.join(" | "),
            100.0 * r.cpu.busy_share(),
            per_command(&r.cpu, r.commands).join(" / ")
        );
    }
}

/// The command name and the fields after it of a `/proc/<pid>/stat` line
/// (the name is in parentheses and may hold spaces).
fn parse_stat(stat: &str) -> Option<(&str, Vec<&str>)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    Some((comm, stat.get(close + 1..)?.split_whitespace().collect()))
}

/// User and system ticks (fields 14 and 15 of stat, 12th and 13th after
/// the name), with the reaped children's (16 and 17) when `children`.
fn ticks(fields: &[&str], children: bool) -> u64 {
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let own = field(11) + field(12);
    if children {
        own + field(13) + field(14)
    } else {
        own
    }
}

fn is_broker(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.windows(11).any(|w| w == b"kafka.Kafka"))
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_split_after_the_name() {
        let line = "42 (postgres: a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 7 3 5 2 20 0";
        let (comm, fields) = parse_stat(line).expect("a stat line");
        assert_eq!(comm, "postgres: a (b) c");
        assert_eq!(fields[0], "S");
        assert_eq!(ticks(&fields, false), 10);
        assert_eq!(ticks(&fields, true), 17);
    }

    #[test]
    fn the_service_and_this_process_are_counted_apart() {
        // A busy child stands for the service.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        let watched = Watched {
            service: child.id(),
            postmaster: None,
            broker: Some(u32::MAX),
        };
        let start = snapshot(&watched);
        // Busy too, until the kernel has counted a tick of both (10 s at
        // most).
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut used = between(&start, &snapshot(&watched));
        while (used.cpu_seconds[2] == 0.0 || used.cpu_seconds[3] == 0.0)
            && Instant::now() < deadline
        {
            let until = Instant::now() + std::time::Duration::from_millis(10);
            while Instant::now() < until {
                std::hint::black_box(0u64);
            }
            used = between(&start, &snapshot(&watched));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(used.cpu_seconds[2] > 0.0, "the service: {used:?}");
        assert!(used.cpu_seconds[3] > 0.0, "the bench: {used:?}");
        assert!(used.seconds > 0.0);
        assert_eq!(used.cpu_seconds[..2], [0.0, 0.0], "neither watched");
    }

    #[test]
    fn a_process_that_ended_counts_only_its_time_within() {
        let at = Instant::now();
        // A backend (pid 2) with 30 ticks at the start ends with 50; its
        // postmaster (pid 1) reaps it, its children's time 0 then 50.
        let start = Snapshot {
            at,
            processes: vec![(1, 1, 100), (2, 1, 30)],
        };
        let end = Snapshot {
            at: at + std::time::Duration::from_secs(1),
            processes: vec![(1, 1, 100 + 50)],
        };
        let used = between(&start, &end);
        let per_second = clock_ticks_per_second();
        assert!(
            (used.cpu_seconds[1] - 20.0 / per_second).abs() < 1e-9,
            "{used:?}"
        );
    }
}
