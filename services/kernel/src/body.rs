//! Response bodies sent while they are made (zip downloads, exports): always through
//! [`streamed`], which makes them safe under every layer around them.
//!
//! - Fused: the compression layer was seen to poll a body again after its end, and a stream
//!   made with `futures_util::stream::unfold` panics when polled past its end. Fused, it
//!   answers "ended" again instead.
//! - Guarded: a panic while the body is made is caught, logged once inside the request's
//!   span (with its request id), and ends the response as failed: the client sees a broken
//!   download, never a silently dropped connection, and the server goes on.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use futures_util::stream::{Fuse, Stream, StreamExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body that sends `stream` as it comes (see the module's notes).
pub fn streamed<S, E>(stream: S) -> Body
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    let guarded = Guarded {
        inner: Box::pin(stream.fuse()),
        span: tracing::Span::current(),
        failed: false,
    };
    #[allow(clippy::disallowed_methods)] // the one place that may: this is the wrapper
    Body::from_stream(guarded)
}

struct Guarded<S> {
    inner: Pin<Box<Fuse<S>>>,
    /// The request's span, so a failure is logged with its id and school.
    span: tracing::Span,
    /// A panic ended it: nothing more is sent.
    failed: bool,
}

impl<S, E> Stream for Guarded<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let _entered = this.span.enter();
        let inner = &mut this.inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_next(cx))) {
            Ok(Poll::Ready(Some(item))) => Poll::Ready(Some(item.map_err(Into::into))),
            Ok(Poll::Ready(None)) => Poll::Ready(None),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => {
                this.failed = true;
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %message, "a streamed response panicked; it ends as failed");
                Poll::Ready(Some(Err("the response could not be completed".into())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    #[tokio::test]
    async fn a_stream_polled_past_its_end_ends_again() {
        let chunks = stream::unfold(0u8, |n| async move {
            (n < 2).then(|| (Ok::<_, std::io::Error>(Bytes::from(vec![b'a' + n])), n + 1))
        });
        let mut body = Guarded {
            inner: Box::pin(chunks.fuse()),
            span: tracing::Span::none(),
            failed: false,
        };
        let mut seen = Vec::new();
        while let Some(chunk) = body.next().await {
            seen.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(seen, b"ab");
        // An unfused `unfold` panics here.
        assert!(body.next().await.is_none());
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn a_panic_ends_the_body_as_failed() {
        let chunks = stream::iter([1, 2, 3]).map(|n| {
            assert!(n < 2, "the second chunk cannot be made");
            Ok::<_, std::io::Error>(Bytes::from_static(b"x"))
        });
        let mut body = Guarded {
            inner: Box::pin(chunks.fuse()),
            span: tracing::Span::none(),
            failed: false,
        };
        assert!(body.next().await.unwrap().is_ok());
        assert!(body.next().await.unwrap().is_err());
        assert!(body.next().await.is_none());
    }
}
