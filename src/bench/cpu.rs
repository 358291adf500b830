//! CPU time by process over a run, from /proc: the broker, PostgreSQL, the
//! service and the bench itself (load generator and reader). On a machine
//! that runs them all, it shows whether a run was short of cores and who
//! took them.
//!
//! PostgreSQL counts its processes alive at both ends of the run, and the
//! backends that ended within it (the postmaster's reaped children). The
//! broker is the process running `kafka.Kafka`.

use std::fmt::Write as _;
use std::time::Instant;

use super::phase::PhaseResult;

/// The groups, in the order they are printed.
pub const GROUPS: [&str; 4] = ["broker", "PostgreSQL", "service", "bench"];

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
    /// The machine's cores.
    pub cores: usize,
}

impl CpuUse {
    /// The share of all cores the groups took together.
    pub fn busy_share(&self) -> f64 {
        self.cpu_seconds.iter().sum::<f64>() / (self.seconds * self.cores as f64).max(1e-9)
    }
}

/// Every process of a group now. `service` is the service's pid.
pub fn snapshot(service: u32) -> Snapshot {
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
        let Some((comm, fields)) = parse_stat(&stat) else {
            continue;
        };
        let group = if pid == service {
            2
        } else if pid == own {
            3
        } else if comm.starts_with("postgres") {
            1
        } else if is_broker(pid) {
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
    let per_second = clock_ticks_per_second();
    let mut cpu_seconds = [0.0; 4];
    for &(pid, group, ticks) in &end.processes {
        let before = start
            .processes
            .iter()
            .find(|(p, g, _)| *p == pid && *g == group)
            .map_or(0, |(_, _, t)| *t);
        cpu_seconds[group] += ticks.saturating_sub(before) as f64 / per_second;
    }
    CpuUse {
        seconds: end.at.duration_since(start.at).as_secs_f64(),
        cpu_seconds,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// `broker 8.3 s, …: 84% of 2 cores, µs a command: …` for `commands`.
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
    let measured: Vec<&PhaseResult> = results.iter().filter(|r| r.cpu.seconds > 0.0).collect();
    let Some(first) = measured.first() else {
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
    for r in measured {
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
    fn this_process_is_counted_as_the_bench() {
        let start = snapshot(0);
        // Busy until the kernel has counted a tick of it (10 s at most).
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut used = between(&start, &snapshot(0));
        while used.cpu_seconds[3] == 0.0 && Instant::now() < deadline {
            let until = Instant::now() + std::time::Duration::from_millis(10);
            while Instant::now() < until {
                std::hint::black_box(0u64);
            }
            used = between(&start, &snapshot(0));
        }
        assert!(used.cpu_seconds[3] > 0.0, "{used:?}");
        assert!(used.seconds > 0.0);
        assert_eq!(used.cpu_seconds[2], 0.0, "no service");
    }
}
