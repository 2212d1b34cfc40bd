//! `example-server`: a small WebSocket application to load-test (see the library's docs).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use example_server::{Options, Server};

/// A small WebSocket application to load-test: websocket-shootout echo and broadcast on `/`,
/// JSON-RPC 2.0 with replies out of order on `/rpc`, graphql-transport-ws subscriptions on `/graphql`.
#[derive(Debug, Parser)]
#[command(name = "example-server", version)]
struct Args {
    /// Address to listen on (port 0: a free port).
    #[arg(long, default_value = "127.0.0.1:9002")]
    listen: SocketAddr,
    /// Hold every message the server sends this long (a slower backend).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    delay: Duration,
    /// Hold JSON-RPC replies up to this much more, by request id, so replies come back out of order.
    #[arg(long, default_value = "2ms", value_parser = humantime::parse_duration)]
    jitter: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("example-server: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let options = Options { delay: args.delay, jitter: args.jitter };
        let server = match Server::bind(args.listen, options).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("example-server: cannot listen on {}: {e}", args.listen);
                return ExitCode::from(2);
            }
        };
        match server.local_addr() {
            Ok(addr) => println!("example-server listening on ws://{addr}/"),
            Err(e) => {
                eprintln!("example-server: {e}");
                return ExitCode::from(2);
            }
        }
        tokio::select! {
            _ = server.run() => ExitCode::SUCCESS,
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        }
    })
}
