//! A stand-in for a custom resource request's presigned `ResponseURL`: a local HTTP server
//! that keeps every `PUT` it receives (its content type and body) and answers 200, or 500 to
//! the first `failures` requests (S3 having a bad moment).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Put {
    pub path: String,
    pub content_type: Option<String>,
    pub body: serde_json::Value,
}

pub struct ResponseUrl {
    pub url: String,
    puts: Arc<Mutex<Vec<Put>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for ResponseUrl {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ResponseUrl {
    pub async fn start(failures: usize) -> ResponseUrl {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/cr-response-key?X-Amz-Signature=abc",
            listener.local_addr().unwrap()
        );
        let puts = Arc::new(Mutex::new(Vec::new()));
        let seen = puts.clone();
        let server = tokio::spawn(async move {
            let mut failures = failures;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap_or(0);
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let (mut length, mut content_type) = (0, None);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).await.unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap_or((&header, ""));
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "content-type" => content_type = Some(value.trim().to_string()),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).await.unwrap_or(0);
                let status = if failures > 0 {
                    failures -= 1;
                    "500 Internal Server Error"
                } else {
                    seen.lock().unwrap().push(Put {
                        path,
                        content_type,
                        body: serde_json::from_slice(&body).unwrap_or_default(),
                    });
                    "200 OK"
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = reader.get_mut().write_all(answer.as_bytes()).await;
            }
        });
        ResponseUrl { url, puts, server }
    }

    /// Every response received so far.
    pub fn puts(&self) -> Vec<Put> {
        self.puts.lock().unwrap().clone()
    }
}
