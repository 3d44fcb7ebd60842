"""Redirects are followed hop by hop and each hop goes through the SSRF guard again: a URL
on an allowed host that redirects to a private address fails the check."""

import pytest

from artifacts.models import ArtifactGateCheck

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/index.html",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_a_redirect_to_a_private_address_fails_the_check(job, checked, artifact_server, target):
    # 127.0.0.1 itself is allowed (the tests' ARTIFACT_ALLOWED_HOSTS); where it sends the
    # fetch next is not.
    artifact_server.expect_request("/index.html").respond_with_data(
        "", status=302, headers={"Location": target}
    )

    check = checked(job, artifact_server.url_for("/index.html"))

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.failing_url == artifact_server.url_for("/index.html")
    assert "was refused: its redirect to " in check.reason
    assert "is not a public address" in check.reason
    (primary,) = check.results
    assert primary["error_class"] == "artifact_blocked_address"
    assert primary["redirects"] == [target]
    assert primary["final_url"] == target
    assert primary["status_code"] == 302  # the last answer received


def test_a_redirect_to_another_scheme_fails_the_check(job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data(
        "", status=301, headers={"Location": "file:///etc/passwd"}
    )

    check = checked(job, artifact_server.url_for("/index.html"))

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "redirected to file:///etc/passwd, which is refused" in check.reason
    assert check.results[0]["error_class"] == "artifact_redirect_refused"


def test_too_many_redirects_fail_the_check(job, checked, artifact_server, settings):
    settings.ARTIFACT_MAX_REDIRECTS = 2
    artifact_server.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )

    check = checked(job, artifact_server.url_for("/loop"))

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "redirected more than 2 times" in check.reason
    assert len(check.results[0]["redirects"]) == 2
