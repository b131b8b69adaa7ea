"""Step Functions' task tokens, which moto forgets (or, executing state machines itself,
refuses as InvalidToken unless one of its own executions waits on them).

No local runner of a state machine here waits on a task token in moto. So each answer is kept by its token, and
`POST /moto-api/shiftback/task-result` with {"token": T} hands it over once (404 until one
came): e2e/run-workflow.mjs polls it where Step Functions would wait at a
`.waitForTaskToken` state.
"""
import json
import threading

from moto.moto_api._internal import urls
from moto.stepfunctions.models import StepFunctionBackend

_results = {}
_lock = threading.Lock()


def _keep(token, result):
    with _lock:
        _results[token] = result


def send_task_success(self, task_token, outcome):
    _keep(task_token, {"output": outcome})


def send_task_failure(self, task_token, error=None, *args, **kwargs):
    _keep(task_token, {"error": error or "States.TaskFailed", "cause": kwargs.get("cause")})


def task_result(request, full_url, headers):
    token = json.loads(request.get_data() or b"{}").get("token", "")
    with _lock:
        result = _results.pop(token, None)
    if result is None:
        return 404, {"Content-Type": "application/json"}, "{}"
    return 200, {"Content-Type": "application/json"}, json.dumps(result)


def install():
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    for backend in (StepFunctionBackend, StepFunctionsParserBackend):
        backend.send_task_success = send_task_success
        backend.send_task_failure = send_task_failure
    urls.url_paths["{0}/moto-api/shiftback/task-result"] = task_result
