"""Lambda's control-plane rate, which moto does not enforce: 15 requests a second per account
and Region, shared by every caller (GetAlias, UpdateAlias, ListVersionsByFunction, ...; not
Invoke), answered past it with 429 TooManyRequestsException as Lambda answers.

Only for requests that carry `x-shiftback-rate-scope: NAME` (a test's own "account"), so that
the rest of the suite, sharing this emulator, is never throttled. Each scope has its own
bucket; `GET /_shiftback/rate/NAME` reports what it admitted and refused.
"""
import json
import threading
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

RATE = 15.0
HEADER = "HTTP_X_SHIFTBACK_RATE_SCOPE"
_lock = threading.Lock()
_scopes = {}


def _admit(scope):
    """A token bucket of RATE a second, holding at most RATE (Lambda's burst is its rate)."""
    now = time.monotonic()
    with _lock:
        state = _scopes.setdefault(
            scope, {"tokens": RATE, "at": now, "admitted": [], "throttled": 0}
        )
        state["tokens"] = min(RATE, state["tokens"] + (now - state["at"]) * RATE)
        state["at"] = now
        if state["tokens"] >= 1.0:
            state["tokens"] -= 1.0
            state["admitted"].append(time.time())
            return True
        state["throttled"] += 1
        return False


def _respond(start_response, status, body, headers=()):
    payload = json.dumps(body).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        + list(headers),
    )
    return [payload]


def install():
    dispatch = DomainDispatcherApplication.__call__

    def call(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_shiftback/rate/"):
            scope = path.rsplit("/", 1)[1]
            with _lock:
                state = _scopes.get(scope, {"admitted": [], "throttled": 0})
                report = {"admitted": state["admitted"], "throttled": state["throttled"]}
            return _respond(start_response, "200 OK", report)
        scope = environ.get(HEADER)
        control_plane = path.startswith("/2015-03-31/functions") and not path.endswith(
            "/invocations"
        )
        if scope and control_plane and not _admit(scope):
            return _respond(
                start_response,
                "429 Too Many Requests",
                {"Type": "User", "message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"},
                [("x-amzn-ErrorType", "TooManyRequestsException")],
            )
        return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call
