//! `TestApp`: a fresh database and fresh topics per test, the application
//! running on them, a producer for commands and readers for events and dead
//! letters. Dropping it stops the application and drops the database.
//! app.rs: the application and its settings; kafka.rs: clients, sending
//! and reading; commands.rs: commands and row counts; apply.rs: the apply
//! stage alone (a scratch database and the processor, no broker);
//! watchdog.rs: a bound on each test's time; [`free_port`]: a port for a
//! process of a test's own.

mod app;
mod apply;
mod commands;
mod kafka;
mod watchdog;

pub use app::*;
pub use apply::*;
pub use commands::*;
pub use kafka::*;

/// A local port no process listens on now, and not handed out before by
/// this test binary. The port is free only until someone binds it: two
/// processes started one after the other could be handed the same port
/// (free again once the first call's probe closed it, still free until the
/// first process binds it), and the second then fails to listen, while
/// requests meant for it reach the first.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
}

#[test]
fn free_ports_are_never_handed_out_twice() {
    let ports: Vec<u16> = (0..2_000).map(|_| free_port()).collect();
    let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len());
}
