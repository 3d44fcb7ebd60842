"""Bodies and headers through the real server stack: gunicorn with ``config/gunicorn.conf.py``,
as ``make run`` and the container serve the app, spoken to over raw sockets and
``http.client`` keep-alive connections.

Found by hand: a 413 announced keep-alive and left the unread body on the connection, so the
client's next request on it failed; a chunked body (no Content-Length) was read as empty; a
10 kB ``Idempotency-Key`` got gunicorn's HTML 431.
"""

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from core.problems import PROBLEM_CONTENT_TYPE
from repairs.models import RepairEvent
from tests.factories import WorkerFactory, issue_token
from tests.processes import Process, gunicorn, log_tail

EVENTS = "/api/v1/worker-repair-events"
MIB = 1024 * 1024

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[int]:
    """One gunicorn for the module, on the test database, with the production settings."""
    folder: Path = tmp_path_factory.mktemp("web")
    started: list[Process] = []
    try:
        _, base = gunicorn(folder, env={"PLS_LANGUAGE": "zh-hant"}, track=started)
        yield int(base.rsplit(":", 1)[1])
    finally:
        for process in started:
            process.stop()
            print(log_tail(process.log))


@pytest.fixture
def token() -> str:
    return issue_token(WorkerFactory())


def _event(error_class: str) -> bytes:
    return json.dumps(
        {"gate": "stuck_claim", "error_class": error_class, "action": "diagnose"}
    ).encode()


class RawResponse:
    def __init__(self, head: bytes, body: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body)


def _read_response(sock: socket.socket) -> RawResponse:
    """One HTTP/1.1 response from ``sock`` (Content-Length or chunked framing)."""
    reader = sock.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        assert line, f"the server closed the connection before answering ({head!r})"
        head += line
    response = RawResponse(head, b"")
    if response.headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int(reader.readline().strip(), 16):
            body += reader.read(size)
            reader.readline()
        reader.readline()
        response.body = body
    else:
        response.body = reader.read(int(response.headers.get("content-length", 0)))
    return response


def _connection_closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _assert_the_connection_is_as_announced(sock: socket.socket, answer: RawResponse) -> None:
    """Closed if the answer said ``Connection: close`` (the client reconnects), otherwise
    ready for the next request."""
    if answer.headers["connection"] == "close":
        assert _connection_closed(sock)
    else:
        sock.sendall(_request("GET", "/health", {}))
        assert _read_response(sock).status == 200


def _chunked_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Transfer-Encoding": "chunked",
    }


def test_a_413_leaves_the_keep_alive_connection_usable_or_says_it_closes(server):
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    body = b"x" * (2 * MIB)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}

    sock.sendall(_request("POST", EVENTS, headers, body))
    refused = _read_response(sock)

    assert refused.status == 413
    assert refused.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert refused.json()["status"] == 413
    _assert_the_connection_is_as_announced(sock, refused)
    sock.close()


def test_an_http_client_sees_the_413_and_its_next_request_succeeds(server, token):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    connection.request("POST", EVENTS, body=b"[" + b" " * (3 * MIB) + b"]", headers=auth)
    refused = connection.getresponse()
    refused.read()
    connection.request("POST", EVENTS, body=_event("after_a_413"), headers=auth)
    accepted = connection.getresponse()

    assert refused.status == 413
    assert accepted.status == 201, accepted.read()
    assert RepairEvent.objects.get().error_class == "after_a_413"


def test_a_body_the_app_never_reads_leaves_the_connection_usable(server, token):
    # A revoked or wrong token is refused before the body is parsed; gunicorn alone drained
    # 64 KiB of it and closed the connection it had just announced as kept alive.
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    evidence = json.dumps({"evidence": "x" * (512 * 1024)}).encode()
    headers = {
        "Authorization": "Bearer pls_not_a_token",
        "Content-Type": "application/json",
        "Content-Length": str(len(evidence)),
    }

    sock.sendall(_request("POST", EVENTS, headers, evidence))
    refused = _read_response(sock)
    sock.sendall(
        _request(
            "POST",
            EVENTS,
            {
                **headers,
                "Authorization": f"Bearer {token}",
                "Content-Length": str(len(_event("next"))),
            },
            _event("next"),
        )
    )
    accepted = _read_response(sock)
    sock.close()

    assert refused.status == 401
    assert refused.headers["connection"] == "keep-alive"
    assert accepted.status == 201, accepted.body


def _chunked(payload: bytes, size: int = 7) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_without_content_length_is_read(server, token):
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    body = _chunked(_event("sent_in_chunks"))

    sock.sendall(_request("POST", EVENTS, _chunked_headers(token), body))
    response = _read_response(sock)
    sock.close()

    assert response.status == 201, response.body
    assert response.json()["error_class"] == "sent_in_chunks"
    assert RepairEvent.objects.get().error_class == "sent_in_chunks"


def test_a_chunked_body_over_the_limit_is_a_413_problem(server, token):
    sock = socket.create_connection(("127.0.0.1", server), timeout=10)
    body = _chunked(b" " * (2 * MIB), size=64 * 1024)

    sock.sendall(_request("POST", EVENTS, _chunked_headers(token), body))
    response = _read_response(sock)

    assert response.status == 413
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    _assert_the_connection_is_as_announced(sock, response)
    sock.close()
    assert not RepairEvent.objects.exists()


@pytest.mark.parametrize("key", ["k" * 10_000, "k" * 256])
def test_an_over_long_idempotency_key_is_a_400_problem_naming_the_header(server, token, key):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }

    connection.request("POST", EVENTS, body=_event("keyed"), headers=headers)
    response = connection.getresponse()

    assert response.status == 400
    assert response.getheader("Content-Type") == PROBLEM_CONTENT_TYPE
    assert json.loads(response.read())["errors"][0]["pointer"] == "#/Idempotency-Key"
    assert not RepairEvent.objects.exists()


def _refused_by_gunicorn(port: int, request: bytes) -> RawResponse:
    """gunicorn's own answer to ``request``, which it refuses before the app sees it; the
    connection is closed after it, as announced."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(request)
    answer = _read_response(sock)
    assert answer.headers["connection"] == "close"
    assert _connection_closed(sock)
    sock.close()
    return answer


def test_an_over_long_request_line_is_a_414_problem(server):
    answer = _refused_by_gunicorn(server, _request("GET", "/health?q=" + "x" * 5000, {}))

    assert answer.status == 414
    assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = answer.json()
    assert body["status"] == 414
    assert body["type"].endswith("/request-line-too-long")
    assert "4094" in body["detail"]
    # No header was read to choose a language: the console's (PLS_LANGUAGE, the server's).
    with translation.override("zh-hant"):
        assert (
            body["title"]
            == translation.gettext("Request line too long")
            != ("Request line too long")
        )


@pytest.mark.parametrize(
    "headers",
    [
        {f"X-Field-{n}": "1" for n in range(101)},  # more fields than gunicorn's 100
        {"X-Large": "x" * (17 * 1024)},  # one over GUNICORN_LIMIT_REQUEST_FIELD_SIZE (16 KiB)
    ],
    ids=["too-many-fields", "a-field-too-large"],
)
def test_too_many_or_too_large_header_fields_are_a_431_problem(server, headers):
    answer = _refused_by_gunicorn(server, _request("GET", "/health", headers))

    assert answer.status == 431
    assert answer.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = answer.json()
    assert body["status"] == 431
    assert body["type"].endswith("/request-header-fields-too-large")
    assert "100" in body["detail"] and "16384" in body["detail"]


def test_malformed_http_is_still_gunicorns_own_400(server):
    answer = _refused_by_gunicorn(server, b"GET /health HTTP/1.1\r\nBad Header: x\r\n\r\n")

    assert answer.status == 400
    assert answer.headers["content-type"] == "text/html"
