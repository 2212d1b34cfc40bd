//! wss:// targets: cases run over TLS; a self-signed certificate needs --insecure, and without it the
//! harness says so instead of blaming the server.

use std::sync::Arc;
use std::time::Duration;

use reference_server::{Config, Server};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use wsharness::conformance::{run_all, tls, RunOptions, Target};
use wsharness::embedded::embedded_cases;
use wsharness::verdict::Verdict;

/// A TLS terminator for "localhost" with a fresh self-signed certificate, in front of `backend`.
async fn tls_proxy(backend: std::net::SocketAddr) -> std::net::SocketAddr {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

async fn run(insecure: Option<bool>) -> Vec<wsharness::conformance::CaseOutcome> {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Config::default()).await.unwrap().spawn();
    let proxy = tls_proxy(server.local_addr()).await;
    let target = Target::parse(&format!("wss://localhost:{}/", proxy.port())).expect("url");
    let cases: Vec<_> =
        embedded_cases().unwrap().into_iter().filter(|c| c.id.starts_with("rfc6455/5.2/text")).collect();
    assert!(!cases.is_empty());
    let tls = insecure.map(|i| tls::connector(i).expect("tls"));
    let options = RunOptions { case_timeout: Duration::from_secs(5), close_timeout: Duration::from_secs(1), tls };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    run_all(&cases, &target, options, 4, rx, |_| {}).await.outcomes.into_iter().map(|(_, o)| o).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_run_over_tls_with_insecure_against_a_self_signed_certificate() {
    let _turn = crate::support::turn(module_path!());
    for o in run(Some(true)).await {
        assert_eq!(o.verdict, Verdict::Ok, "{}: {:?}", o.id, o.reason);
        assert_eq!(o.close.map(|c| c.verdict), Some(wsharness::verdict::CloseVerdict::Ok));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_without_insecure_is_errored_and_says_what_to_do() {
    let _turn = crate::support::turn(module_path!());
    for o in run(Some(false)).await {
        assert_eq!(o.verdict, Verdict::Errored, "{}", o.id);
        let reason = o.reason.unwrap_or_default();
        assert!(reason.contains("TLS handshake") && reason.contains("--insecure"), "{reason}");
    }
}

/// `wsharness load` over wss:// with `args`, against the reference server behind a TLS proxy with a
/// self-signed certificate; the run's output and folder.
async fn load_over_tls(args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Config::default()).await.unwrap().spawn();
    let proxy = tls_proxy(server.local_addr()).await;
    let url = format!("wss://localhost:{}/", proxy.port());
    let dir = crate::load_support::temp_dir(&format!("wss-{}", args.len()));
    let mut all: Vec<String> = vec!["load".into(), url];
    all.extend(args.iter().map(|a| a.to_string()));
    let run_dir = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        crate::load_support::wsharness(&all, &run_dir)
    })
    .await
    .expect("the run");
    (out, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_runs_over_wss_with_insecure_and_every_echo_is_verified() {
    let _turn = crate::support::turn(module_path!());
    let args =
        ["-c", "4", "-d", "1s", "--insecure", "--subprotocol", "chat", "-H", "X-Token: t0ps3cret", "--out", "run"];
    let (out, dir) = load_over_tls(&args).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r = crate::load_support::report(&dir.join("run/report.json"));
    assert_eq!(r["summary"]["errors"], 0, "{}", r["errors"]);
    assert_eq!(r["summary"]["connections"], 4);
    assert!(r["summary"]["messages_received"].as_u64().unwrap_or(0) > 100, "{}", r["summary"]);
    let command = r["command_line"].to_string();
    assert!(command.contains("X-Token: <redacted>") && !command.contains("t0ps3cret"), "{command}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_wss_without_insecure_is_one_line_naming_the_fix_and_exit_2() {
    let _turn = crate::support::turn(module_path!());
    let (out, _) = load_over_tls(&["-c", "4", "-d", "1s", "--out", "run"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("TLS handshake failed") && stderr.contains("--insecure"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
