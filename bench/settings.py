"""The product's settings with the benchmark's URLs, so the bare view never ships."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
