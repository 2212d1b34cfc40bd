//! Accepting connections and moving messages between each socket, its protocol and the hub.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;

use crate::direct::{Socket, Stream};
use crate::hub::{Hub, Out, Outbox};
use crate::protocol::{graphql_ws, jsonrpc, shootout, Action, Route, GRAPHQL_TRANSPORT_WS};

/// Largest message accepted (the protocols' messages are small).
const MAX_MESSAGE: usize = 1 << 20;

/// How the server behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Every message the server sends is held this long first (a slower backend).
    pub delay: Duration,
    /// JSON-RPC replies are held up to this much more, by request id (replies out of order).
    pub jitter: Duration,
}

/// A bound server.
pub struct Server {
    listener: TcpListener,
    options: Options,
    hub: Arc<Hub>,
}

impl Server {
    /// Binds `addr` (port 0: a free port).
    pub async fn bind(addr: SocketAddr, options: Options) -> std::io::Result<Server> {
        Ok(Server { listener: TcpListener::bind(addr).await?, options, hub: Arc::new(Hub::default()) })
    }

    /// The address bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn run(self) {
        loop {
            let Ok((stream, _)) = self.listener.accept().await else {
                // out of descriptors, or a connection reset before accept: keep serving
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let (hub, options) = (Arc::clone(&self.hub), self.options);
            tokio::spawn(async move { serve(stream, hub, options).await });
        }
    }
}

/// One connection, over its shared socket ([`crate::direct`]) and that socket's flusher.
async fn serve(stream: TcpStream, hub: Arc<Hub>, options: Options) {
    let _ = stream.set_nodelay(true);
    let socket = Socket::new(stream);
    let stop = Arc::new(Notify::new());
    let flusher = {
        let (socket, stop) = (Arc::clone(&socket), Arc::clone(&stop));
        tokio::spawn(async move { socket.flush(&stop).await })
    };
    serve_ws(socket, hub, options).await;
    stop.notify_one();
    let _ = flusher.await;
}

/// The handshake (routing by path), then the connection's messages.
// tungstenite's handshake callback returns its `ErrorResponse` (an HTTP response) by value
#[allow(clippy::result_large_err)]
async fn serve_ws(socket: Arc<Socket>, hub: Arc<Hub>, options: Options) {
    let mut route = None;
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let Some(r) = Route::of(req.uri().path()) else { return Err(refuse(StatusCode::NOT_FOUND, "no such path")) };
        if r == Route::Graphql {
            let offered = req.headers().get_all("sec-websocket-protocol").iter().filter_map(|v| v.to_str().ok());
            if !offered.flat_map(|v| v.split(',')).any(|p| p.trim() == GRAPHQL_TRANSPORT_WS) {
                return Err(refuse(StatusCode::BAD_REQUEST, "offer the graphql-transport-ws subprotocol"));
            }
            resp.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(GRAPHQL_TRANSPORT_WS));
        }
        route = Some(r);
        Ok(resp)
    };
    let config = WebSocketConfig { max_message_size: Some(MAX_MESSAGE), ..WebSocketConfig::default() };
    let stream = Stream(Arc::clone(&socket));
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await else {
        return;
    };
    let Some(route) = route else { return };
    let (id, tx, mut rx) = hub.join(Some(Arc::clone(&socket)));
    if route != Route::Shootout {
        // only shootout clients take broadcasts
        hub.leave(id);
    }
    let (mut sink, mut source) = ws.split();
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let sent = match out {
                Out::Text(text) => sink.send(Message::text(text)).await,
                Out::Close(code, reason) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
    });
    let mut graphql = graphql_ws::Session::default();
    loop {
        let msg = tokio::select! {
            m = source.next() => m,
            // too far behind a broadcast: the connection ends
            _ = socket.cut_off() => None,
        };
        let Some(Ok(msg)) = msg else { break };
        let Message::Text(text) = msg else { continue };
        let actions = match route {
            Route::Shootout => shootout::handle(&text),
            Route::Rpc => jsonrpc::handle(&text, options.jitter),
            Route::Graphql => graphql.handle(&text),
        };
        dispatch(actions, &tx, &hub, options.delay);
    }
    hub.leave(id);
    drop(tx);
    let _ = writer.await;
}

/// Carries out one message's actions, in order, after `delay`.
fn dispatch(actions: Vec<Action>, tx: &Outbox, hub: &Arc<Hub>, delay: Duration) {
    let held =
        delay > Duration::ZERO || actions.iter().any(|a| matches!(a, Action::Reply { hold, .. } if !hold.is_zero()));
    if !held {
        for action in actions {
            act(action, tx, hub);
        }
        return;
    }
    let (tx, hub) = (tx.clone(), Arc::clone(hub));
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        for action in actions {
            match action {
                Action::Reply { text, hold } if !hold.is_zero() => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(hold).await;
                        let _ = tx.send(Out::Text(text)).await;
                    });
                }
                other => act(other, &tx, &hub),
            }
        }
    });
}

/// Carries out one action now. A connection whose queue is full loses the message and is closed by
/// its writer's end (the queue is bounded: [`crate::hub::QUEUE`]).
fn act(action: Action, tx: &Outbox, hub: &Hub) {
    let sent = match action {
        Action::Reply { text, .. } => tx.try_send(Out::Text(text)),
        Action::Broadcast { all, payload } => {
            let reached = writing_at_length(|| hub.broadcast(&all));
            tx.try_send(Out::Text(shootout::broadcast_result(&payload, reached)))
        }
        Action::Close { code, reason } => tx.try_send(Out::Close(code, reason)),
    };
    if let Err(mpsc::error::TrySendError::Full(_)) = sent {
        let _ = tx.try_send(Out::Close(1008, "too far behind"));
    }
}

/// Runs `f`, a long stretch of writes (a broadcast to 10,000 sockets takes about 60 ms here), so that
/// the runtime goes on meanwhile: on a worker of the multi-threaded runtime, `block_in_place` hands
/// this worker's queue and the I/O driver to another thread. Without it no thread polls the sockets
/// while the writes run when a timer woke this task (`--delay`): the publisher's next message waited
/// for the end of the broadcast, and every delivery after it counted the wait.
fn writing_at_length<T>(f: impl FnOnce() -> T) -> T {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut resp = ErrorResponse::new(Some(why.to_owned()));
    *resp.status_mut() = status;
    resp
}
