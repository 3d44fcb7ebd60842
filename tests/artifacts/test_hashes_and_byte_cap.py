"""A sha256 covers the whole body; without one, at most ARTIFACT_MAX_BYTES are read."""

import pytest

from artifacts.models import ArtifactGateCheck
from tests.artifacts.conftest import sha256

pytestmark = pytest.mark.django_db

BODY = b"release-1.2.3" * 1000


def test_an_upload_whose_hash_does_not_match_fails_the_check(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data(BODY)
    wanted = sha256(b"what the worker built")

    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        {"url": artifact_server.url_for("/app.zip"), "sha256": wanted},
    )

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.failing_url == artifact_server.url_for("/app.zip")
    assert f"has sha256 {sha256(BODY)}, not the expected {wanted}" in check.reason
    upload = check.results[1]
    assert upload["error_class"] == "artifact_hash_mismatch"
    assert upload["sha256"] == sha256(BODY)
    assert upload["bytes_read"] == len(BODY)


def test_a_url_without_a_hash_is_read_up_to_the_byte_cap_only(
    job, checked, artifact_server, settings
):
    settings.ARTIFACT_MAX_BYTES = 1000
    artifact_server.expect_request("/big.bin").respond_with_data(b"x" * 5_000_000)

    check = checked(job, artifact_server.url_for("/big.bin"))

    assert check.status == ArtifactGateCheck.Status.PASSED
    (primary,) = check.results
    assert primary["bytes_read"] == 1000
    assert primary["truncated"] is True
    assert primary["sha256"] is None, "no hash of a body that was not read to its end"


def test_a_hash_is_computed_over_the_whole_body_beyond_the_byte_cap(
    job, checked, artifact_server, settings
):
    settings.ARTIFACT_MAX_BYTES = 1000
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data(BODY)

    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        {"url": artifact_server.url_for("/app.zip"), "sha256": sha256(BODY)},
    )

    assert check.status == ArtifactGateCheck.Status.PASSED
    assert check.results[1]["bytes_read"] == len(BODY) > 1000


def test_a_body_too_large_to_hash_fails_the_check(job, checked, artifact_server, settings):
    settings.ARTIFACT_HASH_MAX_BYTES = 4096
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data(BODY)

    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        {"url": artifact_server.url_for("/app.zip"), "sha256": sha256(BODY)},
    )

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "too large to hash" in check.reason
    assert check.results[1]["error_class"] == "artifact_too_large"
    assert check.results[1]["bytes_read"] == 0, "refused on its Content-Length, unread"


def test_a_chunked_body_too_large_to_hash_stops_at_the_cap(job, checked, artifact_server, settings):
    from werkzeug import Response

    settings.ARTIFACT_HASH_MAX_BYTES = 4096

    def chunked(request):
        return Response((b"y" * 1024 for _ in range(100)), content_type="application/zip")

    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_handler(chunked)

    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        {"url": artifact_server.url_for("/app.zip"), "sha256": sha256(b"y" * 102400)},
    )

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "too large to hash: more than 4096 bytes" in check.reason
    assert check.results[1]["bytes_read"] == 4096
