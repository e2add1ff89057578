//! Reading the rest of a request body the server has already answered.
//!
//! An upload can be refused part-way through its body: a type not accepted, a full
//! disk, a quota reached. Most clients (browsers, curl, reqwest) send the whole body
//! before they read the answer. If the server closes with their bytes still arriving,
//! its kernel resets the connection, and the client sees a broken pipe instead of the
//! JSON error the server wrote. So, like nginx's `lingering_close`, the rest of such a
//! body is read and thrown away, for a bounded time and size, while the answer goes out:
//! 30 s at most, 5 s at most between reads (nginx's `lingering_time` and
//! `lingering_timeout`), and for at most [`AT_ONCE`] bodies at once: past that, the
//! connection is closed as before.
//!
//! The body is only read on if the handler had started reading it: a client that sent
//! `Expect: 100-continue` and was refused before then has sent nothing, and must not be
//! told to go on.

use std::{
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::body::{Body, BodyDataStream, Bytes};
use futures_util::{Stream, StreamExt};

/// How long the rest of an answered body is read at most: nginx's `lingering_time`.
const LINGER: Duration = Duration::from_secs(30);

/// The longest wait for the next bytes: nginx's `lingering_timeout`.
const LINGER_IDLE: Duration = Duration::from_secs(5);

/// Bodies read on at once, whoever sent them: what refused uploads may cost the server.
const AT_ONCE: usize = 64;

static LINGERING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AT_ONCE);

#[derive(Default)]
struct Shared {
    body: Option<BodyDataStream>,
    started: bool,
}

/// The body as a stream of its bytes, for the handler to read.
pub struct Tapped(Arc<Mutex<Shared>>);

/// What reads the rest of the body once the handler is done with it.
pub struct Rest(Arc<Mutex<Shared>>);

/// Splits `body` into the stream a handler reads and the [`Rest`] it leaves.
pub fn tap(body: Body) -> (Tapped, Rest) {
    let shared =
        Arc::new(Mutex::new(Shared { body: Some(body.into_data_stream()), started: false }));
    (Tapped(Arc::clone(&shared)), Rest(shared))
}

impl Stream for Tapped {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut shared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        shared.started = true;
        let Some(body) = shared.body.as_mut() else { return Poll::Ready(None) };
        let next = body.poll_next_unpin(cx);
        // Ended or broken: nothing is left to read.
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            shared.body = None;
        }
        next
    }
}

impl Rest {
    /// Reads and discards what is left of a started body, up to `limit` more bytes, on
    /// a task of its own so the answer is sent meanwhile. A body read to its end leaves
    /// the connection open for the next request; one cut short closes it.
    pub fn linger(self, limit: u64) {
        let mut shared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let started = shared.started;
        let Some(mut body) = shared.body.take().filter(|_| started) else { return };
        drop(shared);
        let Ok(permit) = LINGERING.try_acquire() else { return };
        tokio::spawn(async move {
            let _permit = permit;
            let mut read = 0u64;
            let rest = async {
                while let Ok(Some(Ok(chunk))) = tokio::time::timeout(LINGER_IDLE, body.next()).await
                {
                    read += chunk.len() as u64;
                    if read > limit {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(LINGER, rest).await;
            tracing::debug!(read, "read the rest of an answered body");
        });
    }
}
