//! Progress of a long CLI run on stderr, so stdout stays machine-readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// "sent 1200/5000" (or "replayed 1200" when the total is unknown) on stderr, at most once a second; on a terminal it
/// rewrites one line.
pub struct Progress {
    verb: &'static str,
    total: Option<usize>,
    done: usize,
    started: Instant,
    last: Instant,
    terminal: bool,
}

impl Progress {
    pub fn new(verb: &'static str, total: Option<usize>) -> Self {
        let now = Instant::now();
        Self {
            verb,
            total,
            done: 0,
            started: now,
            last: now,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub fn tick(&mut self) {
        self.done += 1;
        if self.last.elapsed() >= Duration::from_secs(1) {
            self.last = Instant::now();
            self.show(false);
        }
    }

    fn show(&self, last: bool) {
        let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let total = self.total.map(|t| format!("/{t}")).unwrap_or_default();
        let line = format!("{} {}{total} ({rate:.0}/s)", self.verb, self.done);
        let mut stderr = std::io::stderr().lock();
        let _ = match (self.terminal, last) {
            (true, false) => write!(stderr, "\r{line}"),
            (true, true) => writeln!(stderr, "\r{line}"),
            (false, _) => writeln!(stderr, "{line}"),
        };
        let _ = stderr.flush();
    }

    /// The final count, for runs of more than one.
    pub fn finish(&self) {
        if self.done > 1 {
            self.show(true);
        }
    }
}
