//! A minimal Lambda Runtime API: enough of it for a handler binary to start, take one event
//! and post its answer. It notes when the first request for an event arrives (the end of the
//! cold start) and what the handler answered. Used by `make bench` and by `local-lambda`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
pub struct Seen {
    /// When the handler first asked for an event.
    pub first_next: Option<Instant>,
    /// The handler's answer: (path it was posted to, body).
    pub answer: Option<(String, String)>,
}

impl Seen {
    /// Whether the answer is the handler's error (`/error`, or `/init/error` when it could not
    /// start) rather than its response.
    pub fn answered_error(&self) -> bool {
        self.answer
            .as_ref()
            .is_some_and(|(path, _)| path.ends_with("/error"))
    }
}

pub struct RuntimeApi {
    pub address: String,
    pub seen: Arc<Mutex<Seen>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    /// Stops listening, and ends every connection (a poll for a second event waits forever).
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The one event a [`RuntimeApi`] hands out, with what Lambda sends beside it.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub body: String,
    pub function_name: String,
    pub request_id: String,
    /// How long the handler has, as the function's timeout gives it.
    pub timeout: Duration,
}

impl Invocation {
    pub fn new(event: &serde_json::Value, function_name: &str) -> Invocation {
        Invocation {
            body: event.to_string(),
            function_name: function_name.to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RuntimeApi {
    /// Serves `event` once; every later request for an event waits forever (the process is
    /// killed by then).
    pub async fn serve(event: serde_json::Value) -> RuntimeApi {
        Self::serve_invocation(Invocation::new(&event, "bench")).await
    }

    pub async fn serve_invocation(invocation: Invocation) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        let invocation = Arc::new(invocation);
        let server = tokio::spawn(async move {
            // Owned by this task, so aborting it drops (and aborts) every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                connections.spawn(connection(socket, shared.clone(), invocation.clone()));
            }
        });
        RuntimeApi {
            address,
            seen,
            server,
        }
    }
}

/// One HTTP/1.1 request: method, path and body (sized by content-length; no chunking, which
/// neither the Lambda runtime client nor the workflow runner sends).
pub async fn read_request<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> Option<(String, String, Vec<u8>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return None;
    }
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
            return None;
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
    reader.read_exact(&mut body).await.ok()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    Some((method, path, body))
}

async fn connection(socket: TcpStream, seen: Arc<Mutex<Seen>>, invocation: Arc<Invocation>) {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    while let Some((method, path, body)) = read_request(&mut reader).await {
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
            let deadline =
                chrono::Utc::now().timestamp_millis() + invocation.timeout.as_millis() as i64;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: {}\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:{}\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\
                 content-length: {}\r\n\r\n{}",
                invocation.request_id,
                invocation.function_name,
                invocation.body.len(),
                invocation.body
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
