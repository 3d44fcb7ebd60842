"""Without ARTIFACT_ALLOWED_HOSTS, a URL whose host resolves to a loopback, private,
link-local or otherwise non-public address is never connected to."""

import pytest

from artifacts.models import ArtifactGateCheck

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_guard(settings):
    settings.ARTIFACT_ALLOWED_HOSTS = []


def test_a_loopback_url_fails_with_the_reason(production_guard, job, checked, artifact_server):
    artifact_server.expect_request("/index.html").respond_with_data("secret admin page")

    check = checked(job, artifact_server.url_for("/index.html"))

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.failing_url == artifact_server.url_for("/index.html")
    assert check.reason == (
        f"the primary URL {artifact_server.url_for('/index.html')} was refused: 127.0.0.1 is "
        "not a public address (loopback, private, link-local, multicast or reserved)"
    )
    assert check.results[0]["error_class"] == "artifact_blocked_address"
    assert check.results[0]["status_code"] is None
    assert artifact_server.log == [], "the guard refuses before connecting"


def test_a_name_resolving_to_loopback_is_refused(production_guard, job, checked, artifact_server):
    url = artifact_server.url_for("/index.html").replace("127.0.0.1", "localhost")

    check = checked(job, url)

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert "was refused: localhost resolves to 127.0.0.1, which is not a public" in check.reason
    assert artifact_server.log == []


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://224.0.0.1/"],
)
def test_private_link_local_and_multicast_addresses_are_refused(
    production_guard, job, checked, url
):
    check = checked(job, url)

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.results[0]["error_class"] == "artifact_blocked_address"


def test_an_ipv4_mapped_ipv6_loopback_is_refused_even_with_loopback_allowed_by_name(
    job, checked, artifact_server
):
    # The allow-list names hosts as written: "127.0.0.1" does not cover ::ffff:127.0.0.1.
    url = f"http://[::ffff:127.0.0.1]:{artifact_server.port}/index.html"

    check = checked(job, url)

    assert check.status == ArtifactGateCheck.Status.FAILED
    assert check.results[0]["error_class"] == "artifact_blocked_address"
    assert artifact_server.log == []


def test_a_host_on_the_allow_list_is_fetched(job, checked, artifact_server, settings):
    settings.ARTIFACT_ALLOWED_HOSTS = ["127.0.0.1"]
    artifact_server.expect_request("/index.html").respond_with_data("ok")

    check = checked(job, artifact_server.url_for("/index.html"))

    assert check.status == ArtifactGateCheck.Status.PASSED
