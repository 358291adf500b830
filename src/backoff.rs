//! One backoff for every retry loop: waits that double from `min` up to
//! `max`, each drawn between half and the whole of its step ("equal
//! jitter"), so instances that failed together do not retry in step.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    pub const fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            step: min,
        }
    }

    /// The wait before the next retry; the one after it doubles.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        jittered(step)
    }

    /// After a success: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.step = self.min;
    }
}

/// `wait`, shortened by up to half at random.
pub fn jittered(wait: Duration) -> Duration {
    wait.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_jitter_and_reset() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(1_000));
        for step in [100, 200, 400, 800, 1_000, 1_000] {
            let wait = backoff.next_delay();
            assert!(
                wait >= ms(step / 2) && wait <= ms(step),
                "{wait:?} for {step}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= ms(100));
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| jittered(Duration::from_secs(1))).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
