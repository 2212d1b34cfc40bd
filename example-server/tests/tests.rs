//! The example server as its clients see it, over loopback, with tokio-tungstenite clients.

use std::time::{Duration, Instant};

use example_server::{Options, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn start(options: Options) -> String {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), options).await.expect("bind");
    let addr = server.local_addr().expect("addr");
    tokio::spawn(server.run());
    format!("ws://{addr}")
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

async fn recv(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message in time");
        if let Some(Ok(Message::Text(t))) = msg {
            return serde_json::from_str(&t).expect("JSON");
        }
    }
}

#[tokio::test]
async fn shootout_echoes_to_the_sender_and_broadcasts_to_everyone_with_a_count() {
    let url = start(Options::default()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect_async(format!("{url}/")).await.expect("connect").0);
    }
    send(&mut clients[0], json!({"type": "echo", "payload": {"seq": 1}})).await;
    assert_eq!(recv(&mut clients[0]).await, json!({"type": "echo", "payload": {"seq": 1}}));
    send(&mut clients[1], json!({"type": "broadcast", "payload": {"seq": 2}})).await;
    for c in clients.iter_mut() {
        assert_eq!(recv(c).await, json!({"type": "broadcast", "payload": {"seq": 2}}));
    }
    assert_eq!(
        recv(&mut clients[1]).await,
        json!({"type": "broadcastResult", "payload": {"seq": 2}, "listenCount": 3})
    );
}

#[tokio::test]
async fn rpc_answers_sixteen_requests_in_flight_by_id_out_of_order_with_their_params() {
    let url = start(Options { jitter: Duration::from_millis(20), ..Options::default() }).await;
    let (mut ws, _) = connect_async(format!("{url}/rpc")).await.expect("connect");
    for id in 0..16 {
        send(&mut ws, json!({"jsonrpc": "2.0", "id": id, "method": "echo", "params": {"sent_ns": id * 1000}})).await;
    }
    let mut order = Vec::new();
    for _ in 0..16 {
        let r = recv(&mut ws).await;
        let id = r["id"].as_u64().expect("an id");
        assert_eq!(r["result"]["sent_ns"].as_u64(), Some(id * 1000), "{r}");
        order.push(id);
    }
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..16).collect::<Vec<u64>>(), "every request answered once");
    assert_ne!(order, sorted, "replies came back out of order");
}

#[tokio::test]
async fn graphql_transport_ws_acks_then_streams_next_and_complete() {
    let url = start(Options::default()).await;
    let mut request = format!("{url}/graphql").into_client_request().expect("request");
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut ws, resp) = connect_async(request).await.expect("connect");
    assert_eq!(resp.headers().get("sec-websocket-protocol").map(|v| v.as_bytes()), Some(&b"graphql-transport-ws"[..]));
    send(&mut ws, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(recv(&mut ws).await, json!({"type": "connection_ack"}));
    let variables = json!({"count": 5, "sent_ns": 77});
    send(
        &mut ws,
        json!({"id": "s1", "type": "subscribe", "payload": {"query": "subscription { tick }", "variables": variables}}),
    )
    .await;
    for tick in 0..5 {
        let next = recv(&mut ws).await;
        assert_eq!(
            next,
            json!({"id": "s1", "type": "next", "payload": {"data": {"tick": tick, "variables": variables}}})
        );
    }
    assert_eq!(recv(&mut ws).await, json!({"id": "s1", "type": "complete"}));
    // without the subprotocol the upgrade is refused
    assert!(connect_async(format!("{url}/graphql")).await.is_err());
}

#[tokio::test]
async fn delay_holds_every_message_the_server_sends() {
    let url = start(Options { delay: Duration::from_millis(50), ..Options::default() }).await;
    let (mut ws, _) = connect_async(format!("{url}/")).await.expect("connect");
    let started = Instant::now();
    send(&mut ws, json!({"type": "echo", "payload": 1})).await;
    recv(&mut ws).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(50) && took < Duration::from_millis(500), "{took:?}");
}
