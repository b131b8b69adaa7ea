//! `local-lambda`: Lambda's Invoke API on a loopback port, for the end-to-end test and the
//! demo. Each `POST /2015-03-31/functions/shiftback-HANDLER/invocations` runs the already-built
//! handlers binary cold with `SHIFTBACK_HANDLER=HANDLER`, as Lambda would: a fresh process
//! given the event through a Runtime API of its own, the function's timeout as its deadline,
//! and its answer (or its error, with `X-Amz-Function-Error`) as the response. The binary is
//! the one `cargo build` made, so nothing here compiles anything.
//!
//!     local-lambda --port PORT [--binary PATH] [--timeout SECS]
//!
//! PATH defaults to `shiftback-handlers` beside this binary (`target/debug`); the provider's
//! function runs `shiftback-provider` from beside PATH. The handlers inherit this process's
//! environment (AWS endpoint, credentials, RELEASE_TABLE, ...).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use shiftback_integration_tests::runtime_api::{read_request, Invocation, RuntimeApi};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

struct Options {
    port: u16,
    binary: PathBuf,
    timeout: Duration,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let own_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let mut options = Options {
        port: 0,
        binary: own_dir.join("shiftback-handlers"),
        // The template's function timeout.
        timeout: Duration::from_secs(90),
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => options.port = value.parse().map_err(|e| format!("--port: {e}"))?,
            "--binary" => options.binary = PathBuf::from(value),
            "--timeout" => {
                options.timeout =
                    Duration::from_secs(value.parse().map_err(|e| format!("--timeout: {e}"))?)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() {
    let options = options().unwrap_or_else(|e| {
        eprintln!(
            "local-lambda: {e}\nusage: local-lambda --port PORT [--binary PATH] [--timeout SECS]"
        );
        std::process::exit(2);
    });
    let listener = TcpListener::bind(("127.0.0.1", options.port))
        .await
        .unwrap_or_else(|e| panic!("cannot listen on port {}: {e}", options.port));
    println!("listening on http://{}", listener.local_addr().unwrap());
    let options = std::sync::Arc::new(options);
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(serve(socket, options.clone()));
    }
}

async fn serve(socket: TcpStream, options: std::sync::Arc<Options>) {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    while let Some((method, path, body)) = read_request(&mut reader).await {
        // A function named by its ARN (`arn:...:function:NAME`, its colons escaped in the path).
        let name = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|rest| rest.strip_suffix("/invocations"))
            .map(|name| name.rsplit("%3A").next().unwrap_or(name))
            .map(|name| name.rsplit(':').next().unwrap_or(name));
        let (status, error, body) = match (method.as_str(), name) {
            ("POST", Some(name)) if !name.contains('/') && !name.contains("..") => {
                invoke(&options, name, String::from_utf8_lossy(&body).into_owned()).await
            }
            _ => (
                "404 Not Found",
                None,
                format!(r#"{{"message":"no such route: {method} {path}"}}"#),
            ),
        };
        let error = error
            .map(|e| format!("x-amz-function-error: {e}\r\n"))
            .unwrap_or_default();
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{error}content-length: {}\r\n\r\n{body}",
            body.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Runs function `name` once on `event`: (HTTP status, function error, body).
async fn invoke(
    options: &Options,
    name: &str,
    event: String,
) -> (&'static str, Option<&'static str>, String) {
    let not_found = |message: String| {
        let body = serde_json::json!({"Type": "User", "message": message}).to_string();
        ("404 Not Found", None, body)
    };
    let Some(handler) = name.strip_prefix("shiftback-") else {
        return not_found(format!(
            "Function not found: {name} (expected shiftback-HANDLER)"
        ));
    };
    // The provider is a binary of its own, beside the handlers'.
    let binary = match handler {
        "provider" => options.binary.with_file_name("shiftback-provider"),
        _ => options.binary.clone(),
    };
    if !binary.is_file() {
        return not_found(format!(
            "{} is missing: build it first (cargo build --workspace --bins)",
            binary.display()
        ));
    }
    let invocation = Invocation {
        body: event,
        function_name: name.to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
        timeout: options.timeout,
    };
    let api = RuntimeApi::serve_invocation(invocation).await;
    let spawned = Command::new(&binary)
        .env("SHIFTBACK_HANDLER", handler)
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return unhandled("Runtime.InvalidEntrypoint", &format!("{e}")),
    };
    // Lambda's own limit: a handler that overruns its timeout is killed.
    let give_up = tokio::time::Instant::now() + options.timeout;
    loop {
        {
            let seen = api.seen.lock().unwrap();
            if let Some((_, body)) = &seen.answer {
                let error = seen.answered_error().then_some("Unhandled");
                return ("200 OK", error, body.clone());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return unhandled(
                "Runtime.ExitError",
                &format!("the handler exited before answering: {status}"),
            );
        }
        if tokio::time::Instant::now() >= give_up {
            return unhandled("Sandbox.Timedout", "Task timed out");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn unhandled(error_type: &str, message: &str) -> (&'static str, Option<&'static str>, String) {
    let body = serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string();
    ("200 OK", Some("Unhandled"), body)
}
