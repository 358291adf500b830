//! Cooperative shutdown, after mini-redis: every long-running task holds a
//! [`Shutdown`] and `select!`s on [`Shutdown::recv`]; [`ShutdownTrigger`]
//! fires it once for all of them.

use tokio::sync::watch;

/// Fires the shutdown of every [`Shutdown`] made from it.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Tells a task that it should stop.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl ShutdownTrigger {
    pub fn new() -> (Self, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Self(tx), Shutdown(rx))
    }

    pub fn fire(&self) {
        self.0.send_replace(true);
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    pub fn is_shutdown(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once shutdown has been fired (at once if it already was).
    pub async fn recv(&mut self) {
        // An error means the trigger is gone, which is as good as fired.
        let _ = self.0.wait_for(|fired| *fired).await;
    }
}
