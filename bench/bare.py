"""The framework's own ceiling for ingest: one equivalent row, and nothing else.

The same middleware, database and row as ``POST /api/v1/worker-repair-events``, without DRF,
authentication, validation, redaction or the repeat count. ``bench/ingest.py`` divides the
product's throughput by this view's to show what the product's own code costs.
"""

import hashlib
import json
import os
from functools import cache

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from repairs.models import RepairEvent, Worker


@cache
def _worker_id() -> int:
    # One lookup per process: the bench names its worker in the environment.
    return Worker.objects.values_list("pk", flat=True).get(name=os.environ["BENCH_WORKER"])


@csrf_exempt
@require_POST
def bare_repair_event(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    message = body.get("message", "")
    event = RepairEvent.objects.create(
        worker_id=_worker_id(),
        job_ref=body.get("job", ""),
        gate=body["gate"],
        error_class=body["error_class"],
        fingerprint=hashlib.sha256(f"{body['error_class']}\n{message}".encode()).hexdigest(),
        phase=body.get("phase", ""),
        action=body.get("action", ""),
        message=message,
        evidence=body.get("evidence", ""),
        occurred_at=timezone.now(),
    )
    return JsonResponse({"id": event.pk}, status=201)
