"""A check passes only when the primary URL answers exactly 200 and every upload answers 200
with the sha256 it was given; the evidence of each URL is stored."""

import pytest

from artifacts.models import ArtifactGateCheck
from tests.artifacts.conftest import sha256

pytestmark = pytest.mark.django_db

PAGE = b"<html><body>release notes</body></html>"
ZIP = b"PK\x03\x04" + bytes(range(256)) * 40


def test_a_primary_url_answering_200_with_matching_uploads_passes(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data(PAGE, content_type="text/html")
    artifact_server.expect_request("/app.zip").respond_with_data(
        ZIP, content_type="application/zip"
    )
    artifact_server.expect_request("/notes.txt").respond_with_data("notes")

    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        {"url": artifact_server.url_for("/app.zip"), "sha256": sha256(ZIP)},
        {"url": artifact_server.url_for("/notes.txt")},
    )

    assert check.status == ArtifactGateCheck.Status.PASSED
    assert check.failing_url == ""
    assert "all 3 URL(s) answered 200" in check.reason
    assert check.attempts == 1 and check.started_at and check.finished_at
    primary, archive, notes = check.results
    assert primary["role"] == "primary" and archive["role"] == notes["role"] == "upload"
    assert primary["url"] == artifact_server.url_for("/index.html")
    assert primary["status_code"] == 200
    assert primary["final_url"] == primary["url"]
    assert primary["content_type"].startswith("text/html")
    assert primary["bytes_read"] == len(PAGE)
    assert primary["latency_ms"] >= 0
    assert primary["passed"] is True and primary["error"] == ""
    assert archive["sha256"] == archive["expected_sha256"] == sha256(ZIP)
    assert archive["bytes_read"] == len(ZIP)
    assert notes["passed"] is True


def test_the_check_is_polled_with_its_evidence(job, submit, worker_client, artifact_server):
    from artifacts.services import artifact_check_run

    artifact_server.expect_request("/index.html").respond_with_data(PAGE)
    body = submit(job, artifact_server.url_for("/index.html"))
    assert (
        worker_client.get(f"/api/v1/artifact-gate-checks/{body['id']}").json()["status"]
        == "pending"
    )

    artifact_check_run(check_id=body["id"])

    polled = worker_client.get(f"/api/v1/artifact-gate-checks/{body['id']}").json()
    assert polled["status"] == "passed"
    assert polled["results"][0]["status_code"] == 200
    assert polled["finished_at"] is not None


def test_a_redirect_inside_an_allowed_host_is_followed_and_the_final_url_recorded(
    job, checked, artifact_server
):
    artifact_server.expect_request("/latest").respond_with_data(
        "", status=302, headers={"Location": "/v2/index.html"}
    )
    artifact_server.expect_request("/v2/index.html").respond_with_data(PAGE)

    check = checked(job, artifact_server.url_for("/latest"))

    assert check.status == ArtifactGateCheck.Status.PASSED
    (primary,) = check.results
    assert primary["final_url"] == artifact_server.url_for("/v2/index.html")
    assert primary["redirects"] == [artifact_server.url_for("/v2/index.html")]


def test_a_201_is_not_200(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data(PAGE, status=201)

    check = checked(job, artifact_server.url_for("/index.html"))

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "HTTP 201" in check.reason
