//! Request bodies held to a minimum pace, so a client that trickles its body (a byte
//! every few seconds) cannot hold a connection and an upload slot forever.
//!
//! Every body is measured in windows of *waiting*: only the time the server spends
//! waiting for the client's next bytes counts, never the time it spends writing what it
//! already has (a slow disk is not the client's fault). Each window of
//! `UPLINK_UPLOAD_IDLE_TIMEOUT` of waiting must bring at least
//! `UPLINK_UPLOAD_MIN_RATE` bytes per second of it, and no single wait may last a whole
//! window (the idle timeout, which is all that is left with a rate of 0). A body that
//! falls short fails with [`TooSlow`], which the handler reading it turns into its own
//! refusal.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::time::{sleep_until, Instant, Sleep};

/// The pace every request body must keep.
#[derive(Debug, Clone, Copy)]
pub struct MinPace {
    /// Bytes per second, averaged over a window; 0 means only "some bytes each window".
    pub rate: u64,
    /// How much waiting makes one window.
    pub window: Duration,
}

impl MinPace {
    /// The least a window must bring (beyond not being silent throughout).
    fn bytes_per_window(&self) -> u64 {
        let bytes = u128::from(self.rate) * self.window.as_millis() / 1000;
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }

    /// `body`, failing with [`TooSlow`] once it falls below this pace.
    pub fn hold(self, body: Body) -> Body {
        Body::new(Paced { inner: body, meter: Meter::new(self) })
    }
}

/// Why a body was cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooSlow {
    /// Nothing at all for a whole window of waiting.
    Silent { window: Duration },
    /// Some bytes, but fewer than a window of waiting must bring.
    Slow { received: u64, needed: u64, window: Duration },
}

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Silent { window } => {
                write!(f, "the client sent nothing for {} s", window.as_secs_f64())
            }
            Self::Slow { received, needed, window } => write!(
                f,
                "the client sent {received} bytes in {} s of waiting, below the minimum of {needed}",
                window.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for TooSlow {}

/// Counts one body's bytes against its windows of waiting.
struct Meter {
    pace: MinPace,
    /// Bytes, and waiting before the present wait, in the current window.
    bytes: u64,
    waited: Duration,
    /// When the present wait for the client began, and from when it counts towards the
    /// current window (later, if a window closed during it).
    waiting_since: Option<Instant>,
    counted_from: Option<Instant>,
    /// Made on the first wait: a body that arrives in one piece never needs one.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Meter {
    fn new(pace: MinPace) -> Self {
        Self {
            pace,
            bytes: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            counted_from: None,
            timer: None,
        }
    }

    /// `n` bytes arrived.
    fn arrived(&mut self, n: usize) -> Result<(), TooSlow> {
        if let Some(since) = self.waiting_since.take() {
            let from = self.counted_from.take().unwrap_or(since);
            self.waited += from.elapsed();
        }
        self.bytes = self.bytes.saturating_add(n as u64);
        if self.waited >= self.pace.window {
            self.close_window()?;
        }
        Ok(())
    }

    /// The window is over: it must have brought enough; the next one starts empty.
    fn close_window(&mut self) -> Result<(), TooSlow> {
        let needed = self.pace.bytes_per_window();
        if self.bytes < needed {
            return Err(TooSlow::Slow { received: self.bytes, needed, window: self.pace.window });
        }
        self.bytes = 0;
        self.waited = Duration::ZERO;
        Ok(())
    }

    /// The client has nothing for us yet: runs the clock until it does, or until it has
    /// been silent for a window, or a window of waiting ends short.
    fn poll_waiting(&mut self, cx: &mut Context<'_>) -> Poll<TooSlow> {
        let since = *self.waiting_since.get_or_insert_with(Instant::now);
        let silent_until = since + self.pace.window;
        loop {
            let from = *self.counted_from.get_or_insert(since);
            // `waited` is below the window here: `arrived` closes any window it fills.
            let window_end = from + self.pace.window.saturating_sub(self.waited);
            let deadline = window_end.min(silent_until);
            let timer = self.timer.get_or_insert_with(|| Box::pin(sleep_until(deadline)));
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            ready!(timer.as_mut().poll(cx));
            if deadline == silent_until {
                return Poll::Ready(TooSlow::Silent { window: self.pace.window });
            }
            // A window filled up during this wait.
            self.waited = self.pace.window;
            if let Err(slow) = self.close_window() {
                return Poll::Ready(slow);
            }
            self.counted_from = Some(window_end);
        }
    }
}

/// A body with a [`Meter`].
struct Paced {
    inner: Body,
    meter: Meter,
}

impl http_body::Body for Paced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, Bytes::len);
                Poll::Ready(Some(this.meter.arrived(len).map(|()| frame).map_err(axum::Error::new)))
            }
            Poll::Ready(other) => Poll::Ready(other),
            Poll::Pending => {
                this.meter.poll_waiting(cx).map(|slow| Some(Err(axum::Error::new(slow))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio::sync::mpsc;

    const WINDOW: Duration = Duration::from_secs(10);

    /// Reads a paced body fed by `feed` every `every`, `chunk` bytes at a time, for at
    /// most `chunks` chunks; how many bytes arrived, how it ended, and when.
    async fn trickle(
        pace: MinPace,
        every: Duration,
        chunk: usize,
        chunks: usize,
    ) -> (usize, Option<TooSlow>, Duration) {
        let (feed, mut fed) = mpsc::channel::<Bytes>(1);
        let source = async_stream::stream! {
            while let Some(bytes) = fed.recv().await {
                yield Ok::<_, std::convert::Infallible>(bytes);
            }
        };
        let mut body = pace.hold(Body::from_stream(source)).into_data_stream();
        let feeding = tokio::spawn(async move {
            for _ in 0..chunks {
                tokio::time::sleep(every).await;
                if feed.send(Bytes::from(vec![b'x'; chunk])).await.is_err() {
                    return;
                }
            }
        });
        let started = Instant::now();
        let mut got = 0;
        let failure = loop {
            match body.next().await {
                Some(Ok(bytes)) => got += bytes.len(),
                Some(Err(error)) => {
                    break Some(
                        *crate::uploads::find_cause::<TooSlow>(&error).expect("a pace failure"),
                    )
                }
                None => break None,
            }
        };
        feeding.abort();
        (got, failure, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_the_pace_arrives_whole() {
        // 200 bytes/s against a minimum of 100, over five windows.
        let pace = MinPace { rate: 100, window: WINDOW };
        let (got, failure, _) = trickle(pace, Duration::from_secs(1), 200, 50).await;
        assert_eq!((got, failure), (10_000, None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_below_the_pace_is_cut_off_when_its_window_ends() {
        // A byte every 2 s: about 5 a window, far below 1,000; never silent for long.
        let pace = MinPace { rate: 100, window: WINDOW };
        let (got, failure, elapsed) = trickle(pace, Duration::from_secs(2), 1, 1000).await;
        assert!(
            matches!(failure, Some(TooSlow::Slow { needed: 1000, received, .. }) if received < 10),
            "{failure:?}"
        );
        assert!(got < 10, "{got}");
        assert_eq!(elapsed, WINDOW, "refused as its first window of waiting ends");
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_rate_only_a_whole_window_of_silence_fails() {
        let pace = MinPace { rate: 0, window: WINDOW };
        let (got, failure, _) = trickle(pace, WINDOW - Duration::from_millis(1), 1, 5).await;
        assert_eq!((got, failure), (5, None), "a byte just inside every window is enough");
        let (got, failure, elapsed) = trickle(pace, WINDOW * 2, 1, 5).await;
        assert_eq!((got, failure, elapsed), (0, Some(TooSlow::Silent { window: WINDOW }), WINDOW));
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_server_spends_elsewhere_does_not_count() {
        let (feed, mut fed) = mpsc::channel::<Bytes>(4);
        let source = async_stream::stream! {
            while let Some(bytes) = fed.recv().await {
                yield Ok::<_, std::convert::Infallible>(bytes);
            }
        };
        let pace = MinPace { rate: 100, window: WINDOW };
        let mut body = pace.hold(Body::from_stream(source)).into_data_stream();
        feed.send(Bytes::from_static(b"a")).await.unwrap();
        body.next().await.unwrap().unwrap();
        // The server is busy for three windows (writing, say) and reads nothing meanwhile;
        // the client's next bytes are there as soon as it looks.
        tokio::time::advance(WINDOW * 3).await;
        feed.send(Bytes::from_static(b"b")).await.unwrap();
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"b");
        // Then the client goes quiet: cut off after one window of waiting, not at once.
        let started = Instant::now();
        let error = body.next().await.unwrap().unwrap_err();
        let failure = crate::uploads::find_cause::<TooSlow>(&error).copied();
        assert_eq!(
            (failure, started.elapsed()),
            (Some(TooSlow::Silent { window: WINDOW }), WINDOW)
        );
        drop(feed);
    }
}
