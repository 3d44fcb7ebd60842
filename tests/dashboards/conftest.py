import pytest

from tests.dashboards.fleet import Fleet


@pytest.fixture
def fleet(db) -> Fleet:
    return Fleet()
