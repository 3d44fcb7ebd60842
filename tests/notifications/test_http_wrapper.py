"""core.http: the one outbound HTTP path (timeouts, User-Agent, signing, keep-alive)."""

import hashlib
import hmac
import json
import socket
import threading
import time

import pytest
import requests

from core import http


def test_sign_is_sha256_hmac_of_the_exact_bytes():
    body = b'{"a":1}'

    assert http.sign(body, b"key") == "sha256=" + hmac.new(b"key", body, hashlib.sha256).hexdigest()


def test_post_json_signs_the_bytes_it_sends_and_names_itself(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")

    response = http.post_json(
        httpserver.url_for("/hook"),
        {"title": "ünïcode", "n": 1},
        signing_key=b"k",
        headers={"X-Extra": "1"},
    )

    assert response.status_code == 200
    request, _ = httpserver.log[0]
    raw = request.get_data()
    assert json.loads(raw) == {"title": "ünïcode", "n": 1}
    assert request.headers[http.SIGNATURE_HEADER] == http.sign(raw, b"k")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == http.USER_AGENT
    assert request.headers["X-Extra"] == "1"


def test_post_json_gives_up_after_the_read_timeout(httpserver, settings):
    settings.PLS_HTTP_READ_TIMEOUT = 0.2
    httpserver.expect_request("/slow").respond_with_handler(lambda r: time.sleep(1) or "late")

    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        http.post_json(httpserver.url_for("/slow"), {})

    assert time.monotonic() - started < 0.9


def test_requests_to_one_host_reuse_one_connection():
    """A bare HTTP/1.1 server that counts the connections it accepts."""
    connections = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=answer_all, args=(conn,), daemon=True).start()

    def answer_all(conn):
        buffer = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                head, rest = buffer.split(b"\r\n\r\n", 1)
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                if len(rest) < length:
                    break
                buffer = rest[length:]
                conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        for index in range(5):
            assert http.post_json(f"http://127.0.0.1:{port}/sink", {"n": index}).status_code == 204
    finally:
        server.close()

    assert len(connections) == 1
