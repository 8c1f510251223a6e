//! The accept loop: each connection is served over HTTP/1.1, or over HTTP/2 when it opens with
//! HTTP/2's preface (prior knowledge, as a proxy that multiplexes does), on the same port.
//!
//! `axum::serve` does the same through hyper-util's `auto` builder, which reads the first bytes
//! of every connection to tell the versions apart and then hands them to HTTP/1.1 ahead of the
//! socket. HTTP/1.1's first read then got only those few bytes, the request came with its
//! second read, and hyper grew the connection's read buffer from 8 KiB to 16 KiB for it: half
//! of what an idle HTTP/1.1 long-poll held (heap profile, docs/benchmarks.md, results of 2026-11-29, commit d2dc046). Here
//! the version is told by peeking at the socket, which consumes nothing, so hyper's first read
//! gets the request itself.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

/// What an HTTP/2 connection with prior knowledge sends first.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a new connection may take to send enough to tell its version.
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` completes; then accepts no more
/// connections, asks the open ones to finish (HTTP/1.1 after the request in flight, HTTP/2
/// with a GOAWAY) and waits for them.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    if !is_connection_error(&err) {
                        // Out of file descriptors, say: wait, instead of spinning on it.
                        tracing::error!(error = %err, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let http2 =
                match tokio::time::timeout(VERSION_TIMEOUT, opens_with_preface(&stream)).await {
                    Ok(Ok(http2)) => http2,
                    // Closed or silent before saying anything useful.
                    Ok(Err(_)) | Err(_) => return,
                };
            // Each request carries the peer's address (`ConnectInfo`), as axum's own server
            // gives it.
            let service = TowerToHyperService::new(router.map_request(
                move |mut request: axum::http::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            ));
            let io = TokioIo::new(stream);
            let served = if http2 {
                let mut builder = http2::Builder::new(TokioExecutor::new());
                builder.timer(TokioTimer::new());
                // Boxed: a task's state is as large as its largest await, so an HTTP/2
                // connection's state inline here made every HTTP/1.1 connection's task that
                // large too (few HTTP/2 connections carry many requests; every HTTP/1.1
                // long-poll holds a connection of its own).
                Box::pin(watcher.watch(builder.serve_connection(io, service))).await
            } else {
                let mut builder = http1::Builder::new();
                builder.timer(TokioTimer::new());
                watcher.watch(builder.serve_connection(io, service)).await
            };
            if let Err(err) = served {
                tracing::debug!(error = %err, peer = %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Whether the connection opens with HTTP/2's preface, read without consuming it. Waits while
/// what has arrived is a beginning of the preface (a client may send it in pieces).
async fn opens_with_preface(stream: &TcpStream) -> io::Result<bool> {
    let mut seen = [0u8; PREFACE.len()];
    loop {
        let n = stream.peek(&mut seen).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if seen[..n] != PREFACE[..n] {
            return Ok(false);
        }
        if n == PREFACE.len() {
            return Ok(true);
        }
        // A piece of the preface so far: `peek` answers at once with the same bytes until
        // more arrive, so wait a moment before looking again.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Errors of one connection that the listener goes on from at once.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
