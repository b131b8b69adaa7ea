//! A minimal Lambda Runtime API: enough of it for a handler binary to start, take one event
//! and post its answer. It notes when the first request for an event arrives (the end of the
//! cold start) and what the handler answered.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
pub struct Seen {
    /// When the handler first asked for an event.
    pub first_next: Option<Instant>,
    /// The handler's answer: (path it was posted to, body).
    pub answer: Option<(String, String)>,
}

pub struct RuntimeApi {
    pub address: String,
    pub seen: Arc<Mutex<Seen>>,
}

impl RuntimeApi {
    /// Serves `event` once; every later request for an event waits forever (the process is
    /// killed by then).
    pub async fn serve(event: serde_json::Value) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        let event = Arc::new(event.to_string());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(connection(socket, shared.clone(), event.clone()));
            }
        });
        RuntimeApi { address, seen }
    }
}

async fn connection(socket: TcpStream, seen: Arc<Mutex<Seen>>, event: Arc<String>) {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let response = if method == "GET" && path.ends_with("/invocation/next") {
            let first = {
                let mut seen = seen.lock().unwrap();
                let first = seen.first_next.is_none();
                if first {
                    seen.first_next = Some(Instant::now());
                }
                first
            };
            if !first {
                // One event per process: the next poll never gets an answer.
                std::future::pending::<()>().await;
            }
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: bench-1\r\nlambda-runtime-deadline-ms: {deadline}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\nlambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\ncontent-length: {}\r\n\r\n{}",
                event.len(),
                event
            )
        } else {
            seen.lock().unwrap().answer =
                Some((path.to_string(), String::from_utf8_lossy(&body).to_string()));
            "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}".to_string()
        };
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
