//! Many SSE subscribers on `/api/events`, one task each, like dashboards left open.
//! Each reads its stream as a browser would; while a measurement runs, every event
//! it receives is timed against the event's own `at`.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use tokio::{
    sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore},
    task::JoinHandle,
};

use crate::{
    client::{Account, Client},
    follow::follow_items,
    sse::{now_ms, Item, Stamp},
    stats::Summary,
};

/// Streams being opened at once: enough to keep both sides busy without overflowing
/// the listen backlog.
const OPENING: usize = 128;
/// A stream not answered by then counts as failed (a server out of descriptors leaves
/// connections in its listen backlog, unanswered).
const OPEN_WITHIN: Duration = Duration::from_secs(10);

/// What all subscribers saw, counted together.
pub struct Tally {
    measuring: AtomicBool,
    latencies_ms: Mutex<Vec<f64>>,
    /// Events received while measuring, by all subscribers.
    pub delivered: AtomicU64,
    /// Events seen while measuring by each account's first subscriber: each event once.
    pub published: AtomicU64,
    /// Terminal events among those.
    terminals: watch::Sender<u64>,
    pub keep_alives: AtomicU64,
    pub open: AtomicUsize,
    /// Streams that ended or failed after they were open.
    pub lost: AtomicUsize,
}

impl Tally {
    fn new() -> Self {
        Self {
            measuring: AtomicBool::new(false),
            latencies_ms: Mutex::default(),
            delivered: AtomicU64::new(0),
            published: AtomicU64::new(0),
            terminals: watch::channel(0).0,
            keep_alives: AtomicU64::new(0),
            open: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
        }
    }

    /// Starts counting events from zero.
    pub fn start(&self) {
        self.latencies_ms.lock().expect("no panics while held").clear();
        self.delivered.store(0, Ordering::Relaxed);
        self.published.store(0, Ordering::Relaxed);
        self.terminals.send_replace(0);
        self.measuring.store(true, Ordering::Release);
    }

    /// Stops counting; the latencies of the events received since [`Tally::start`].
    pub fn stop(&self) -> Summary {
        self.measuring.store(false, Ordering::Release);
        Summary::of(std::mem::take(&mut *self.latencies_ms.lock().expect("no panics while held")))
    }

    /// Waits until the accounts' first subscribers have seen `count` terminal events.
    pub async fn terminals(&self, count: u64, within: Duration) -> bool {
        let mut seen = self.terminals.subscribe();
        tokio::time::timeout(within, seen.wait_for(|n| *n >= count)).await.is_ok_and(|r| r.is_ok())
    }

    fn event(&self, primary: bool, name: &str, data: &str) {
        if !self.measuring.load(Ordering::Acquire) {
            return;
        }
        let received = now_ms();
        if let Some(at) = Stamp::parse(data).and_then(|stamp| stamp.at_ms()) {
            self.latencies_ms.lock().expect("no panics while held").push(received - at);
        }
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if primary {
            self.published.fetch_add(1, Ordering::Relaxed);
            if name != "progress" {
                self.terminals.send_modify(|n| *n += 1);
            }
        }
    }
}

pub struct Pool {
    pub tally: Arc<Tally>,
    tasks: Vec<JoinHandle<()>>,
    /// From connecting to the stream's `retry:` line, per subscriber.
    pub connect_ms: Summary,
    /// From the first connect to the last stream open.
    pub opening: Duration,
    pub failed: usize,
    pub first_error: Option<String>,
}

impl Pool {
    /// Opens `count` streams, spread evenly over `accounts`, and waits until each is
    /// open (or has failed).
    pub async fn open(client: &Arc<Client>, accounts: &[Account], count: usize) -> Self {
        let tally = Arc::new(Tally::new());
        let gate = Arc::new(Semaphore::new(OPENING));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(count);
        let mut ready = Vec::with_capacity(count);
        for n in 0..count {
            let permit = Arc::clone(&gate).acquire_owned().await.expect("never closed");
            let (tell, told) = oneshot::channel();
            let account = accounts[n % accounts.len()].clone();
            let subscriber = Subscriber {
                client: Arc::clone(client),
                account,
                primary: n < accounts.len(),
                tally: Arc::clone(&tally),
            };
            tasks.push(tokio::spawn(subscriber.run(tell, permit)));
            ready.push(told);
        }
        let (mut times, mut failed, mut first_error) = (Vec::with_capacity(count), 0, None);
        for told in ready {
            match told.await {
                Ok(Ok(ms)) => times.push(ms),
                Ok(Err(error)) => {
                    failed += 1;
                    first_error.get_or_insert(error);
                }
                Err(_) => failed += 1,
            }
        }
        Self {
            tally,
            tasks,
            connect_ms: Summary::of(times),
            opening: started.elapsed(),
            failed,
            first_error,
        }
    }

    pub fn open_now(&self) -> usize {
        self.tally.open.load(Ordering::Relaxed)
    }

    /// Hangs up every stream.
    pub fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

struct Subscriber {
    client: Arc<Client>,
    account: Account,
    /// The first subscriber of its account counts each of the account's events once.
    primary: bool,
    tally: Arc<Tally>,
}

impl Subscriber {
    async fn run(self, tell: oneshot::Sender<Result<f64, String>>, permit: OwnedSemaphorePermit) {
        let started = Instant::now();
        let opened =
            tokio::time::timeout(OPEN_WITHIN, self.client.events("/api/events", &self.account));
        let response = match opened.await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                let _ = tell.send(Err(error.to_string()));
                return;
            }
            Err(_) => {
                let _ = tell.send(Err(format!("no answer within {} s", OPEN_WITHIN.as_secs())));
                return;
            }
        };
        // Until the stream says `retry:` it is still opening.
        let mut opening = Some((tell, permit));
        let tally = &self.tally;
        // Read until the stream ends or fails: either way it is no longer held.
        let _ = follow_items(response, |item| {
            match item {
                Item::Retry => {
                    if let Some((tell, _permit)) = opening.take() {
                        tally.open.fetch_add(1, Ordering::Relaxed);
                        let _ = tell.send(Ok(started.elapsed().as_secs_f64() * 1000.0));
                    }
                }
                Item::Comment => {
                    tally.keep_alives.fetch_add(1, Ordering::Relaxed);
                }
                Item::Event { name, data } => tally.event(self.primary, &name, &data),
            }
            false
        })
        .await;
        match opening {
            Some((tell, _)) => {
                let _ = tell.send(Err("the stream ended before it opened".into()));
            }
            None => {
                tally.open.fetch_sub(1, Ordering::Relaxed);
                tally.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
