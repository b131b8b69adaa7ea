//! Reading the workflow's input.

use super::*;
use serde_json::json;

fn request() -> serde_json::Value {
    json!({"function": "orders", "alias": "live", "target_version": "2", "strategy": "AllAtOnce"})
}

#[test]
fn the_execution_name_is_the_release_id() {
    let task = json!({"release_id": "r-exec-1", "request": request()});
    assert_eq!(
        parse_start(task).unwrap().release_id.as_deref(),
        Some("r-exec-1")
    );
    let mut same = request();
    same["release_id"] = json!("r-exec-1");
    let task = json!({"release_id": "r-exec-1", "request": same});
    assert_eq!(
        parse_start(task).unwrap().release_id.as_deref(),
        Some("r-exec-1")
    );
    let mut other = request();
    other["release_id"] = json!("r-other");
    let err = parse_start(json!({"release_id": "r-exec-1", "request": other})).unwrap_err();
    assert!(err.to_string().contains("execution name"), "{err}");
    // A bare request (a direct invocation) is read as it is.
    assert_eq!(parse_start(request()).unwrap().release_id, None);
    let err = parse_start(json!({"release_id": "r-1", "request": "x"})).unwrap_err();
    assert!(matches!(err, Error::BadRequest(_)), "{err}");
}
