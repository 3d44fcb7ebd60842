"""What Django refuses before any view runs (a Host header not in ``ALLOWED_HOSTS``, a
malformed request) is a problem document on the API, as every other error there.

It was Django's HTML 400 page.
"""

from core.problems import PROBLEM_CONTENT_TYPE


def test_a_host_not_allowed_is_a_400_problem_on_the_api(worker_client):
    response = worker_client.get("/api/v1/worker-repair-events", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["status"] == 400


def test_a_host_not_allowed_is_an_html_page_in_the_console(client):
    response = client.get("/admin/login/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
