"""A URL that does not answer in time fails the check with the reason; the check never
hangs on it."""

import time

import pytest
from werkzeug import Request, Response

from artifacts.models import ArtifactGateCheck

pytestmark = pytest.mark.django_db


def test_a_url_answering_after_the_read_timeout_fails_the_check(
    job, checked, artifact_server, settings
):
    settings.ARTIFACT_READ_TIMEOUT = 0.3

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("too late")

    artifact_server.expect_request("/index.html").respond_with_handler(slow)

    started = time.monotonic()
    check = checked(job, artifact_server.url_for("/index.html"))

    assert time.monotonic() - started < 1.5, "the check gave up at the read timeout"
    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "did not answer within the read timeout of 0.3 s" in check.reason
    assert check.results[0]["error_class"] == "artifact_timeout"


def test_a_body_that_drips_past_the_deadline_fails_the_check(
    job, checked, artifact_server, settings
):
    settings.ARTIFACT_READ_TIMEOUT = 2.0
    settings.ARTIFACT_FETCH_DEADLINE_SECONDS = 0.5

    def drip(request: Request) -> Response:
        def body():
            for _ in range(20):
                yield b"x" * 10
                time.sleep(0.1)

        return Response(body(), content_type="text/plain")

    artifact_server.expect_request("/index.html").respond_with_handler(drip)

    started = time.monotonic()
    check = checked(job, artifact_server.url_for("/index.html"))

    assert time.monotonic() - started < 1.5
    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "took longer than 0.5 s" in check.reason
    assert check.results[0]["error_class"] == "artifact_timeout"


def test_urls_are_fetched_concurrently(job, checked, artifact_server, settings):
    settings.ARTIFACT_FETCH_THREADS = 4

    def second(request: Request) -> Response:
        time.sleep(0.5)
        return Response("ok")

    for name in ("index.html", "a", "b", "c"):
        artifact_server.expect_request(f"/{name}").respond_with_handler(second)

    started = time.monotonic()
    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        *({"url": artifact_server.url_for(f"/{name}")} for name in ("a", "b", "c")),
    )

    assert check.status == ArtifactGateCheck.Status.PASSED
    assert time.monotonic() - started < 1.5, "four 0.5 s answers in parallel, not in turn"
