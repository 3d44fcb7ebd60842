"""The console's home page counts what waits for a human, linking each count to its list."""

import re

import pytest
from django.urls import reverse

from policies.models import Proposal
from tests.console import EVENTS
from tests.factories import event_body

pytestmark = pytest.mark.django_db


def box(html: str) -> dict[str, tuple[str, int]]:
    """Label → (link, count) of each line of the Governance box."""
    rows = re.findall(
        r'<a href="([^"]+)">([^<]+)</a></th>\s*<td class="governance-count">(\d+)</td>', html
    )
    return {label: (url.replace("&amp;", "&"), int(count)) for url, label, count in rows}


def test_the_home_page_counts_pending_requests_open_proposals_and_questions(
    client, reviewer, worker_client
):
    worker_client.post(EVENTS, event_body(action="retry"), format="json")
    worker_client.post(EVENTS, event_body(action="retry"), format="json")  # over budget
    client.force_login(reviewer)

    lines = box(client.get(reverse("admin:index")).content.decode())

    assert lines["Self-heal requests pending"][1] == 1
    assert lines["Proposals to decide"][1] == 1  # the repeat raised a repair proposal
    assert lines["Policy questions open"][1] == 3
    pending = client.get(lines["Self-heal requests pending"][0]).context["cl"].result_list
    assert [r.status for r in pending] == ["pending"]
    questions = client.get(lines["Policy questions open"][0]).context["cl"].result_list
    assert {p.kind for p in questions} == {Proposal.Kind.POLICY_QUESTION}
    assert len(questions) == 3
    proposals = client.get(lines["Proposals to decide"][0]).context["cl"].result_list
    assert [p.kind for p in proposals] == [Proposal.Kind.REPAIR]


def test_a_viewer_sees_the_counts_too(client, viewer):
    client.force_login(viewer)

    lines = box(client.get(reverse("admin:index")).content.decode())

    assert lines["Policy questions open"][1] == 3
