from notifications.models import OwnerReport
from tests.notifications.conftest import answer, drain, raise_reports, received_ids


def test_a_channel_receives_its_reports_oldest_first(db, httpserver, make_channel):
    channel = make_channel("ops")
    answer(httpserver, channel, 204)
    reports = raise_reports(4)

    result = drain(channel)

    assert result.sent == 4
    assert received_ids(httpserver, channel) == [r.pk for r in reports]
    assert set(OwnerReport.objects.values_list("state", flat=True)) == {"sent"}
