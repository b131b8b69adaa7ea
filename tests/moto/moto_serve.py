"""moto's server, with DynamoDB's writes made atomic as DynamoDB's are, the Lambda behaviour
retention and hooks need that moto lacks (moto_lambda.py), Lambda's control-plane rate for the
requests that ask for it (moto_rate.py), and task tokens kept (moto_sfn.py).

moto serves each request on its own thread and checks a write's condition and applies it in
separate steps, with no lock: two concurrent TransactWriteItems whose conditions exclude each
other (two starts taking one alias lock) can both pass their checks and both commit. Real
DynamoDB never does that, so this wrapper serializes moto's conditional writes with one lock
and then runs moto's own server main, arguments unchanged.
"""
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

import moto_lambda
import moto_rate
import moto_sfn

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def write(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    return write


for name in WRITES:
    setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))

moto_lambda.install()
moto_rate.install()
moto_sfn.install()

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
