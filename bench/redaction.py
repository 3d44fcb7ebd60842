"""How long ``redact()`` takes on a typical 2 KiB evidence (it runs on every ingest).

    .venv/bin/python bench/redaction.py                  # this checkout's config/redaction/
    .venv/bin/python bench/redaction.py --file OLD.py    # another version of the module

The evidence is what a worker usually sends: test output, a traceback, a failing command,
with one credential in it. Prints the best of several timeit runs, in microseconds per call,
(CPU time) and the usual ``RESULT {json}`` line.
"""

import argparse
import importlib.util
import json
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Built at run time so no credential-shaped literal sits in the source.
_FAKE_TOKEN = "ghp_" + "Bench0" * 6

EVIDENCE = f"""\
$ make test
.venv/bin/pytest -q -p no:cacheprovider tests/orders
........................F.......................................s.........   [ 61%]
..............................................                             [100%]
=================================== FAILURES ===================================
_________________ test_an_order_ships_once_its_payment_settles _________________

    def test_an_order_ships_once_its_payment_settles(client, settled_payment):
        response = client.post("/api/orders/4711/ship", {{"carrier": "dhl"}})
>       assert response.status_code == 202
E       assert 503 == 202
E        +  where 503 = <Response status_code=503, "application/json">.status_code

tests/orders/test_shipping.py:42: AssertionError
----------------------------- Captured log call ------------------------------
WARNING  orders.carriers:carriers.py:88 carrier dhl answered 503 after 2.31 s
ERROR    orders.api:views.py:120 ship 4711 failed: upstream unavailable
=========================== short test summary info ============================
FAILED tests/orders/test_shipping.py::test_an_order_ships_once_its_payment_settles
1 failed, 118 passed, 1 skipped in 14.02s
$ git push origin feature/ship-on-settle
remote: Invalid username or token. https://x-access-token:{_FAKE_TOKEN}@github.com/acme/orders
fatal: Authentication failed for 'https://github.com/acme/orders.git/'
$ curl -sS -o /dev/null -w '%{{http_code}}' https://carrier.example.com/v2/health
503
$ env | grep -i carrier
CARRIER_ENDPOINT=https://carrier.example.com/v2
CARRIER_TIMEOUT_SECONDS=30
Traceback (most recent call last):
  File "/srv/app/orders/carriers.py", line 88, in ship
    response = self.session.post(url, json=payload, timeout=self.timeout)
  File "/srv/app/.venv/lib/python3.11/site-packages/requests/sessions.py", line 637
requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://carrier.example.com/v2/shipments
commit 3f1c9e2a7b4d8e6f0a1b2c3d4e5f60718293a4b5
"""


def _redact_from(path: Path | None):  # type: ignore[no-untyped-def]
    if path is None:
        from core.redaction import redact

        return redact
    spec = importlib.util.spec_from_file_location("redaction_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.redact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="a redaction.py to time instead of this one")
    parser.add_argument("--number", type=int, default=2000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the best one counts")
    args = parser.parse_args()
    redact = _redact_from(args.file)
    result = redact(EVIDENCE)
    # CPU time of this process, not wall time: the figure holds on a machine shared with
    # other work.
    runs = timeit.repeat(
        lambda: redact(EVIDENCE),
        number=args.number,
        repeat=args.repeat,
        timer=time.process_time,
    )
    micros = min(runs) / args.number * 1e6
    size = len(EVIDENCE.encode())
    print(f"redact() on {size} bytes: {micros:.1f} µs per call, {result.count} secret(s) cut")
    print("RESULT " + json.dumps({"bytes": size, "us_per_call": round(micros, 1)}))


if __name__ == "__main__":
    main()
