//! Autobahn|Testsuite client runner for tokio-tungstenite: the client half under test.
//!
//! Usage: `tokio-tungstenite-autobahn-runner [BASE_URL] [AGENT]` (default `ws://127.0.0.1:9001`,
//! `tokio-tungstenite`). Env: `JOBS` (default 1): cases run at once, each on its own connection
//! (Autobahn's runners run one at a time).
//!
//! Speaks the fuzzing server's API (Autobahn's `wstest -m fuzzingserver`, later `wsharness serve`):
//! `/getCaseCount` (a text message with the count), then `/runCase?case=N&agent=AGENT` for N = 1..count
//! (every text and binary message echoed as received until the server closes), then
//! `/updateReports?agent=AGENT`. The library keeps its defaults (its message limit, 64 MiB, is above
//! Autobahn's largest message).

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::{connect_async, tungstenite::Error, tungstenite::Message};

/// Runs one connection to `url`, echoing data messages; returns the first text message seen.
async fn session(url: &str, echo: bool) -> Result<Option<String>, Error> {
    let (mut ws, _) = connect_async(url).await?;
    let mut first = None;
    while let Some(message) = ws.next().await {
        match message? {
            Message::Text(t) => {
                first.get_or_insert_with(|| t.to_string());
                if echo {
                    ws.send(Message::Text(t)).await?;
                }
            }
            Message::Binary(b) if echo => ws.send(Message::Binary(b)).await?,
            // pings are answered and closes completed by the library
            _ => {}
        }
    }
    Ok(first)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "tokio-tungstenite".to_owned());
    let count = match session(&format!("{base}/getCaseCount"), false).await {
        Ok(Some(text)) => text.trim().parse::<u32>().unwrap_or(0),
        Ok(None) => 0,
        Err(e) => {
            eprintln!("{agent}: getCaseCount: {e}");
            std::process::exit(1);
        }
    };
    if count == 0 {
        eprintln!("{agent}: getCaseCount gave no case count (is the server at {base}?)");
        std::process::exit(1);
    }
    println!("{agent}: {count} cases");
    let jobs = std::env::var("JOBS").ok().and_then(|j| j.parse::<u32>().ok()).unwrap_or(1).max(1);
    let next = std::cell::Cell::new(1);
    let worker = || async {
        loop {
            let n = next.get();
            if n > count {
                break;
            }
            next.set(n + 1);
            // a case that fails the connection on purpose ends in an error here: the server judges
            let _ = session(&format!("{base}/runCase?case={n}&agent={}", encode(&agent)), true).await;
        }
    };
    futures_util::future::join_all((0..jobs).map(|_| worker())).await;
    if let Err(e) = session(&format!("{base}/updateReports?agent={}", encode(&agent)), false).await {
        eprintln!("{agent}: updateReports: {e}");
        std::process::exit(1);
    }
}

/// The agent as a query value: unreserved characters as they are, every other byte `%XX` (RFC 3986 §2.1).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
