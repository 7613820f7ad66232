"""The production settings with one addition for benchmarks: the bare baseline view
(bench/urls.py). Nothing else differs, so a figure and its baseline share gunicorn, the
middleware, the database connection settings and the environment."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
