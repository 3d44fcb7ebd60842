from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from repairs.models import WorkerToken
from repairs.services import worker_token_revoke
from tests.factories import event_body

EVENTS = "/api/v1/worker-repair-events"


def test_valid_token_reports_as_its_worker(worker, worker_client):
    response = worker_client.post(EVENTS, event_body(), format="json")

    assert response.status_code == 201
    assert response.json()["worker"] == worker.name


def test_worker_is_taken_from_the_token_not_the_body(worker, worker_client):
    response = worker_client.post(EVENTS, event_body(worker="someone-else"), format="json")

    assert response.json()["worker"] == worker.name


def test_missing_credentials_get_401_problem(db):
    response = APIClient().post(EVENTS, event_body(), format="json")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_gets_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer pls_not-a-real-token-at-all-000000000")

    response = client.get(EVENTS)

    assert response.status_code == 401
    assert response.json()["detail"] == "The token is unknown or revoked."


def test_revoked_token_gets_401(worker, worker_token, worker_client):
    worker_token_revoke(token=WorkerToken.objects.get(worker=worker))

    response = worker_client.post(EVENTS, event_body(), format="json")

    assert response.status_code == 401


def test_malformed_authorization_header_gets_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")

    assert client.get(EVENTS).status_code == 401


def test_token_is_stored_only_as_a_hash(worker, worker_token):
    token = WorkerToken.objects.get(worker=worker)

    assert worker_token not in (token.digest, token.prefix)
    assert not WorkerToken.objects.filter(digest=worker_token).exists()
    assert worker_token.startswith(token.prefix)


def test_use_records_last_used_time(worker, worker_client):
    worker_client.get(EVENTS)

    assert WorkerToken.objects.get(worker=worker).last_used_at is not None


def test_last_used_time_is_not_rewritten_on_every_request(worker, worker_client):
    worker_client.get(EVENTS)
    first = WorkerToken.objects.get(worker=worker).last_used_at

    worker_client.get(EVENTS)

    assert WorkerToken.objects.get(worker=worker).last_used_at == first


def test_stale_last_used_time_is_refreshed(worker, worker_client):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    WorkerToken.objects.filter(worker=worker).update(last_used_at=an_hour_ago)

    worker_client.get(EVENTS)

    assert WorkerToken.objects.get(worker=worker).last_used_at > an_hour_ago


def test_inactive_worker_user_is_refused(worker, worker_client):
    worker.user.is_active = False
    worker.user.save()

    assert worker_client.get(EVENTS).status_code == 401


def test_revoking_twice_keeps_the_first_revocation(worker, worker_token, owner):
    token = WorkerToken.objects.get(worker=worker)

    assert worker_token_revoke(token=token, revoked_by=owner) is True
    assert worker_token_revoke(token=token) is False
    assert WorkerToken.objects.get(pk=token.pk).revoked_by == owner
