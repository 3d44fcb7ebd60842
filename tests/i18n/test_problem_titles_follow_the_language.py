"""API problem documents speak the caller's language (Accept-Language, or a signed-in
person's profile); their type, status and codes never change with it."""

import pytest

from core.profiles import profile_update

pytestmark = pytest.mark.django_db
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-Hant-TW,zh;q=0.9,en;q=0.5"}


def answers(client, method: str, path: str, **headers) -> dict:  # type: ignore[no-untyped-def]
    response = getattr(client, method)(path, **headers)
    assert response["Content-Type"] == "application/problem+json"
    return {**response.json(), "content-language": response["Content-Language"]}


def test_a_domain_problem_is_titled_in_the_callers_language(worker_client):
    english = answers(worker_client, "get", "/api/v1/jobs/JOB-404")
    chinese = answers(worker_client, "get", "/api/v1/jobs/JOB-404", **CHINESE)

    assert english["content-language"] == "en" and chinese["content-language"] == "zh-hant"
    assert chinese["title"] != english["title"]
    assert chinese["type"] == english["type"] and chinese["status"] == english["status"] == 404


def test_framework_and_http_problems_are_titled_in_the_callers_language(client):
    unauthenticated = answers(client, "get", "/api/v1/jobs", **CHINESE)
    missing = answers(client, "get", "/api/v1/no-such-route", **CHINESE)

    assert unauthenticated["title"] == "未驗證身分"
    assert unauthenticated["type"].endswith("/not-authenticated")
    assert missing["title"] == "找不到"
    assert missing["type"].endswith("/not-found")
    assert answers(client, "get", "/api/v1/jobs")["title"] == "Unauthorized"


def test_a_refused_claim_keeps_its_code_in_chinese(worker, worker_client):
    worker.status = "paused"
    worker.paused_reason = "budget"
    worker.save()

    chinese = answers(worker_client, "post", "/api/v1/jobs/claim-next", **CHINESE)
    english = answers(worker_client, "post", "/api/v1/jobs/claim-next")

    assert (chinese["title"], english["title"]) == ("工作者已暫停", "Worker paused")
    assert chinese["status"] == english["status"] == 423
    assert chinese["type"] == english["type"] and chinese["type"].endswith("/worker-paused")


def test_a_signed_in_persons_profile_wins_over_accept_language(owner, session_client):
    profile_update(user=owner, language="en")
    client = session_client(owner)

    problem = answers(client, "get", "/api/v1/jobs/JOB-404", **CHINESE)

    assert problem["content-language"] == "en"
