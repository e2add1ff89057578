//! checksum-trailer: a chunked PATCH may send its `Upload-Checksum` after its bytes, as
//! an HTTP trailer, when the client only knows the digest once it has read them. hyper
//! hands trailers over as the body's last frame; this keeps them for the handler, which
//! otherwise reads the body as data only.

use std::{
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    http::HeaderMap,
};
use http_body::Frame;

/// The trailers of a body, once it has ended.
#[derive(Clone, Default)]
pub struct Trailers(Arc<Mutex<Option<HeaderMap>>>);

impl Trailers {
    /// The trailers the body ended with, if any.
    pub fn take(&self) -> Option<HeaderMap> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// `body`, keeping its trailers in the returned [`Trailers`] as they pass.
pub fn keep(body: Body) -> (Body, Trailers) {
    let trailers = Trailers::default();
    (Body::new(Keeping { inner: body, trailers: trailers.clone() }), trailers)
}

struct Keeping {
    inner: Body,
    trailers: Trailers,
}

impl http_body::Body for Keeping {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(trailers) = frame.trailers_ref() {
                let mut kept = self.trailers.0.lock().unwrap_or_else(PoisonError::into_inner);
                *kept = Some(trailers.clone());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
