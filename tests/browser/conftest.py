"""A real Chromium driven by Playwright against pytest-django's live server.

Debian's /usr/bin/chromium is used (Playwright's own browser download is never needed:
``.ci/run`` installs the Debian package when it is missing). Without it, every test here
is skipped with the reason.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path(os.environ.get("PLS_CHROMIUM", "/usr/bin/chromium"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"needs Chromium at {CHROMIUM}: apt-get install chromium (or set PLS_CHROMIUM)"
    )
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go: $PLS_TEST_ARTIFACTS, else .var/test-artifacts/ (git-ignored)."""
    folder = Path(
        os.environ.get("PLS_TEST_ARTIFACTS", settings.BASE_DIR / ".var" / "test-artifacts")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # Containers often run as root, where Chromium's sandbox cannot start.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
