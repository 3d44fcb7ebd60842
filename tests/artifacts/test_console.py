"""The console shows checks read-only, with each URL's result in a table."""

import pytest

from artifacts.models import ArtifactGateCheck

pytestmark = pytest.mark.django_db


def test_the_change_view_shows_the_per_url_results(
    viewer, session_client, job, checked, artifact_server
):
    artifact_server.expect_request("/index.html").respond_with_data("ok")
    artifact_server.expect_request("/app.zip").respond_with_data("gone", status=404)
    check = checked(
        job, artifact_server.url_for("/index.html"), {"url": artifact_server.url_for("/app.zip")}
    )

    page = session_client(viewer).get(f"/admin/artifacts/artifactgatecheck/{check.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="artifact-results"' in html
    assert artifact_server.url_for("/app.zip") in html
    assert "answered HTTP 404, not 200" in html
    assert "FAILED" in html and "passed" in html
    assert 'name="_save"' not in html, "read-only: no save button"


def test_the_list_shows_status_job_worker_and_failing_url(
    viewer, session_client, job, checked, artifact_server
):
    artifact_server.expect_request("/app").respond_with_data("x", status=500)
    checked(job, artifact_server.url_for("/app"))

    page = session_client(viewer).get("/admin/artifacts/artifactgatecheck/?status__exact=failed")

    html = page.content.decode()
    assert page.status_code == 200
    assert job.external_id in html
    assert artifact_server.url_for("/app") in html


def test_nobody_edits_or_deletes_a_check_in_the_console(owner, session_client, job, submit):
    check_id = submit(job, "https://artifacts.example.com/")["id"]
    owner.is_superuser = True
    owner.save()
    client = session_client(owner)

    response = client.post(
        f"/admin/artifacts/artifactgatecheck/{check_id}/change/", {"status": "passed"}
    )
    assert response.status_code == 403
    assert (
        client.post(
            f"/admin/artifacts/artifactgatecheck/{check_id}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert ArtifactGateCheck.objects.get(pk=check_id).status == "pending"
