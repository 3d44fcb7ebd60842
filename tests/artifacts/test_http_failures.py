"""A URL that does not answer 200 fails the check, with the reason and the failing URL."""

import pytest

from artifacts.models import ArtifactGateCheck
from tests.artifacts.conftest import closed_port_url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", [404, 500])
def test_a_primary_url_answering_an_error_fails_with_the_reason(
    job, checked, artifact_server, code
):
    artifact_server.expect_request("/index.html").respond_with_data("nope", status=code)

    check = checked(job, artifact_server.url_for("/index.html"))

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.failing_url == artifact_server.url_for("/index.html")
    assert f"answered HTTP {code}, not 200" in check.reason
    assert check.reason.startswith("the primary URL ")
    (primary,) = check.results
    assert primary["status_code"] == code
    assert primary["passed"] is False
    assert primary["error_class"] == f"artifact_http_{code}"


def test_a_missing_upload_fails_the_check_although_the_primary_opens(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/a.zip").respond_with_data("a")
    artifact_server.expect_request("/b.zip").respond_with_data("gone", status=404)

    check = checked(
        job,
        artifact_server.url_for("/index.html"),
        {"url": artifact_server.url_for("/a.zip")},
        {"url": artifact_server.url_for("/b.zip")},
    )

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.failing_url == artifact_server.url_for("/b.zip")
    assert check.reason.startswith(f"the upload URL {artifact_server.url_for('/b.zip')}")
    assert [item["passed"] for item in check.results] == [True, True, False]


def test_every_failing_url_is_counted_in_the_reason(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data("x", status=500)
    artifact_server.expect_request("/a.zip").respond_with_data("x", status=404)

    check = checked(
        job, artifact_server.url_for("/index.html"), {"url": artifact_server.url_for("/a.zip")}
    )

    assert check.failing_url == artifact_server.url_for("/index.html")
    assert "(and 1 more URL(s) failed)" in check.reason


def test_a_host_that_refuses_connections_fails_as_unreachable(job, checked):
    url = closed_port_url("/index.html")

    check = checked(job, url)

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.failing_url == url
    assert "could not be reached" in check.reason
    assert check.results[0]["error_class"] == "artifact_unreachable"
