//! The read load of the reads-beside-commands comparison: clients reading
//! `GET /orders/{id}`, each on a keep-alive connection of its own (as
//! dashboards and support tools do), at a set rate in total or back to
//! back, until told to stop. Orders not created yet answer 404: a read of
//! the database all the same.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// What the readers were answered.
#[derive(Default, Clone, Copy)]
pub struct Reads {
    /// 200: the order.
    pub found: usize,
    /// 404: not created yet.
    pub missing: usize,
}

impl Reads {
    pub fn total(&self) -> usize {
        self.found + self.missing
    }
}

pub(super) struct ReadLoad {
    stop: Arc<AtomicBool>,
    readers: Vec<JoinHandle<anyhow::Result<Reads>>>,
}

impl ReadLoad {
    /// `readers` clients reading orders picked at random from `orders`,
    /// `rate` reads per second between them (0: each back to back).
    pub(super) fn start(
        addr: SocketAddr,
        orders: Vec<Uuid>,
        readers: usize,
        rate: u32,
        seed: u64,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let orders = Arc::new(orders);
        let pace = (rate > 0).then(|| Duration::from_secs_f64(readers as f64 / f64::from(rate)));
        let readers = (0..readers)
            .map(|n| {
                let rng = fastrand::Rng::with_seed(seed.wrapping_add(n as u64));
                tokio::spawn(read(addr, orders.clone(), stop.clone(), pace, rng))
            })
            .collect();
        Self { stop, readers }
    }

    /// Stops the readers and adds up their answers.
    pub(super) async fn finish(self) -> anyhow::Result<Reads> {
        self.stop.store(true, Ordering::Relaxed);
        let mut sum = Reads::default();
        for reader in self.readers {
            let reads = reader.await.context("a reader task")??;
            sum.found += reads.found;
            sum.missing += reads.missing;
        }
        Ok(sum)
    }
}

async fn read(
    addr: SocketAddr,
    orders: Arc<Vec<Uuid>>,
    stop: Arc<AtomicBool>,
    pace: Option<Duration>,
    mut rng: fastrand::Rng,
) -> anyhow::Result<Reads> {
    let mut sender = connect(addr).await?;
    let mut reads = Reads::default();
    let mut due = Instant::now();
    while !stop.load(Ordering::Relaxed) && !orders.is_empty() {
        if let Some(pace) = pace {
            // After a slow answer the next read waits its turn, not
            // reads that were due meanwhile back to back.
            tokio::time::sleep_until(due.into()).await;
            due = Instant::now()
                .checked_sub(pace)
                .map_or(due, |floor| due.max(floor))
                + pace;
        }
        let id = orders[rng.usize(..orders.len())];
        let request = Request::get(format!("/orders/{id}"))
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())?;
        sender.ready().await.context("the HTTP connection")?;
        let response = sender.send_request(request).await.context("GET")?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .context("reading a body")?;
        match status {
            StatusCode::OK => reads.found += 1,
            StatusCode::NOT_FOUND => reads.missing += 1,
            _ => bail!("GET /orders/{id} answered {status}"),
        }
    }
    Ok(reads)
}

/// A keep-alive HTTP/1 connection to the service's server at `addr`.
pub(super) async fn connect(
    addr: SocketAddr,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to the service's HTTP server at {addr}"))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    tokio::spawn(connection);
    Ok(sender)
}
