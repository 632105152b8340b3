//! The connection under the router: accepting sockets, and the one answer the router never sees.
//!
//! When a request cannot even be parsed (a malformed request line or header, a request target
//! past 64 KiB, more header fields than the parser holds), the HTTP library answers by itself,
//! before any middleware runs: an empty `400`, `414` or `431` with `content-length: 0`, then it
//! closes the connection. It has no hook to change that answer, so [`ProblemStream`] watches what
//! is written to the socket and replaces exactly that bare answer with a problem+json one that
//! carries a request id, as every other error does. Every answer the router builds has an
//! `x-request-id` header ([`crate::observe::request_context`]), so a head without one was written
//! by the library.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::error::Problem;

/// A TCP listener whose connections answer unparsable requests with a problem.
pub struct ProblemListener(pub TcpListener);

impl Listener for ProblemListener {
    type Io = ProblemStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = Listener::accept(&mut self.0).await;
        (ProblemStream::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The address of the peer of a connection, for [`crate::observe::ClientAddress`].
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, ProblemListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, ProblemListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// A stream that passes everything through, except a bare error answer of the HTTP library.
pub struct ProblemStream<S> {
    inner: S,
    /// The problem being written in place of a bare answer: its bytes, how many are written, and
    /// how many bytes of the library's answer to report as written once it is.
    replacing: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    claimed: usize,
}

impl<S> ProblemStream<S> {
    pub fn new(inner: S) -> Self {
        ProblemStream {
            inner,
            replacing: None,
        }
    }
}

impl<S: AsyncWrite + Unpin> ProblemStream<S> {
    /// Writes the replacement to the end, then reports the library's answer as written.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(r) = self.replacing.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while let Some(rest) = r.bytes.get(r.written..).filter(|b| !b.is_empty()) {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            r.written += n;
        }
        let claimed = r.claimed;
        self.replacing = None;
        Poll::Ready(Ok(claimed))
    }

    fn start_replacing(&mut self, head: &[u8]) -> bool {
        match problem_for(head) {
            Some(bytes) => {
                self.replacing = Some(Replacement {
                    bytes,
                    written: 0,
                    claimed: head.len(),
                });
                true
            }
            None => false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_some() || this.start_replacing(buf) {
            return this.drive(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // The library queues a response's head as a buffer of its own; a bare answer is that
        // head alone.
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
        if this.replacing.is_some() || this.start_replacing(first) {
            return this.drive(cx);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.replacing.is_some() {
            ready!(self.drive(cx))?;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.replacing.is_some() {
            ready!(self.drive(cx))?;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The problem answer for a bare error head written by the HTTP library, or `None` when `head`
/// is anything else (an answer of the router, a body, part of a head).
fn problem_for(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let (status, kind, title, detail) = match rest.get(..3)? {
        b"400" => (
            400,
            "malformed-request",
            "Malformed request",
            "the request line or a header could not be read as HTTP/1.1",
        ),
        b"414" => (
            414,
            "uri-too-long",
            "Request target too long",
            "the request target is longer than the server reads",
        ),
        b"431" => (
            431,
            "headers-too-large",
            "Request headers too large",
            "the request head holds more header fields or bytes than the server reads",
        ),
        _ => return None,
    };
    // The whole of a head, with no body after it.
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if end != head.len() {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if !has(b"\r\ncontent-length: 0\r\n") || has(b"\r\nx-request-id:") {
        return None;
    }
    let request_id = crate::request_id::new_request_id();
    tracing::warn!(%request_id, status, "refused a request the HTTP library could not read");
    let body = serde_json::to_vec(&Problem {
        kind: format!("/problems/{kind}"),
        title: title.to_owned(),
        status,
        detail: detail.to_owned(),
        request_id: request_id.clone(),
        errors: vec![],
        allowed_states: None,
        current_version: None,
    })
    .ok()?;
    let reason = std::str::from_utf8(rest.get(3..)?).ok()?.lines().next()?;
    let mut out = format!(
        "HTTP/1.1 {status}{reason}\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nconnection: close\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nx-request-id: {request_id}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn split(answer: &[u8]) -> (String, serde_json::Value) {
        let at = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(answer[..at].to_vec()).unwrap();
        let body = serde_json::from_slice(&answer[at + 4..]).unwrap();
        (head, body)
    }

    #[test]
    fn a_bare_library_answer_becomes_a_problem_with_a_request_id() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 05:00:00 GMT\r\n\r\n";
        let (head, body) = split(&problem_for(bare).unwrap());
        assert!(
            head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{head}"
        );
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains("connection: close"));
        let id = body["request_id"].as_str().unwrap();
        assert_eq!(id.len(), 16);
        assert!(head.contains(&format!("x-request-id: {id}")));
        assert_eq!(body["status"], 431);
        assert_eq!(body["type"], "/problems/headers-too-large");
    }

    #[test]
    fn answers_of_the_router_and_other_writes_pass_unchanged() {
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-request-id: abc\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"{\"title\":\"HTTP/1.1 400 Bad Request\"}",
            b"",
        ] {
            assert!(problem_for(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }

    #[tokio::test]
    async fn the_stream_writes_the_problem_and_reports_the_bare_answer_written() {
        let (client, server) = tokio::io::duplex(16);
        let mut stream = ProblemStream::new(server);
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let reader = tokio::spawn(async move {
            let mut client = client;
            let mut all = vec![];
            client.read_to_end(&mut all).await.unwrap();
            all
        });
        // The duplex holds 16 bytes at a time, so the problem goes out in many partial writes.
        let n = stream.write(bare).await.unwrap();
        assert_eq!(n, bare.len());
        stream.shutdown().await.unwrap();
        drop(stream);
        let (head, body) = split(&reader.await.unwrap());
        assert!(head.starts_with("HTTP/1.1 400 Bad Request"));
        assert_eq!(body["type"], "/problems/malformed-request");
    }
}
