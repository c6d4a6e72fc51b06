//! The DynamoDB connection is opened during init (`App::warm_up`), so a function's first
//! request pays no TCP or TLS set-up; an unreachable DynamoDB at init never fails it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use integration_tests::{TestApi, api_gateway_event};
use raptor_shared::app::{self, App, ExportingApp};
use raptor_shared::store::Store;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// An HTTP/1.1 proxy on 127.0.0.1 to the emulator that counts the client connections it
/// accepts and keeps each one alive. (The emulator's server closes every connection after
/// one response, so it alone could not show a connection being reused.)
async fn counting_proxy(emulator: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
    let address = listener.local_addr().expect("proxy address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve_keep_alive(client, emulator.clone()));
        }
    });
    (format!("http://{address}"), accepted)
}

/// Forwards each request of one client connection to the emulator over a connection of
/// its own, and answers on the client's connection without closing it.
async fn serve_keep_alive(client: TcpStream, emulator: String) {
    let mut client = BufReader::new(client);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            match client.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let blank = line == b"\r\n";
            head.extend(line);
            if blank {
                break;
            }
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length = text
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if client.read_exact(&mut body).await.is_err() {
            return;
        }
        let Ok(mut upstream) = TcpStream::connect(&emulator).await else {
            return;
        };
        let mut response = Vec::new();
        let forwarded = async {
            upstream.write_all(&head).await?;
            upstream.write_all(&body).await?;
            upstream.read_to_end(&mut response).await
        };
        if forwarded.await.is_err() {
            return;
        }
        let response = String::from_utf8_lossy(&response).replace("Connection: close\r\n", "");
        if client.get_mut().write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn app_at(endpoint: &str, table: &str) -> App {
    // The functions' own configuration (embedded trust roots, environment credentials).
    let config = app::sdk_config_loader().endpoint_url(endpoint).load().await;
    App::new(Store::new(aws_sdk_dynamodb::Client::new(&config), table))
}

fn request(api_key: &str) -> lambda_http::Request {
    let event = api_gateway_event("GET", "/users/me", Some(api_key), None);
    lambda_http::request::from_str(&event.to_string()).expect("a valid event")
}

#[tokio::test]
async fn the_first_request_reuses_the_connection_opened_at_init() {
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    let emulator = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let (proxy, connections) = counting_proxy(emulator.trim_start_matches("http://").to_string()).await;
    let app = app_at(&proxy, api.store().table()).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "building the client connects nowhere"
    );

    assert!(app.warm_up().await, "the warm-up reached DynamoDB");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "init opened one connection");

    let response = users::handle(&ExportingApp::new(app.clone(), None), request(&org.admin_key)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the first request's two DynamoDB calls went over the connection opened at init"
    );
}

#[tokio::test]
async fn an_unreachable_dynamodb_at_init_is_a_warning_not_a_failure() {
    // A port that nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let app = app_at(&format!("http://127.0.0.1:{port}"), "raptor-comply-unreachable").await;

    assert!(!app.warm_up().await);
    // The function still answers; a malformed key costs no DynamoDB call.
    let response = users::handle(&ExportingApp::new(app.clone(), None), request("garbage")).await;
    assert_eq!(response.status(), 401);
}
