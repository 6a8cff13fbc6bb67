"""Benchmark of the foundation's hot paths: loading the reference data, distances in bulk,
and the municipality search API.

    createdb -h 127.0.0.1 -U postgres furusato_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_bench \
        .venv/bin/python bench/places_bench.py

It migrates the named database, loads the municipalities and prints the median and p95 of
each measurement. Figures go to RESULTS.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")


def measure(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    # Measure the views, not the per-client rate limit (set before any view is imported).
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from places import distances
    from places.services import municipalities_load

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    rows = [
        ("load_municipalities (1,788 rows, upsert)", *measure(municipalities_load, 5)),
    ]
    codes = list(distances._points())

    def cold_distances():
        distances.distances_from.cache_clear()
        distances.distances_from(codes[len(codes) // 2])

    rows.append(
        ("distances_from one municipality to all 1,741 (cold)", *measure(cold_distances, 200))
    )
    rows.append(("within_km(50) (warm)", *measure(lambda: distances.within_km("212172", 50), 1000)))
    client = Client()

    def get_ok(path, params):
        response = client.get(path, params)
        assert response.status_code == 200, (path, response.status_code)

    for label, params in [
        ("GET /api/municipalities/?search=ひだし", {"search": "ひだし"}),
        ("GET /api/municipalities/?search=212172", {"search": "212172"}),
        ("GET /api/municipalities/?prefecture=13", {"prefecture": "13"}),
        ("GET /api/municipalities/ (page 1 of 35)", {}),
    ]:
        rows.append((label, *measure(lambda p=params: get_ok("/api/municipalities/", p), 200)))
    rows.append(
        (
            "GET /api/municipalities/212172/nearby/?km=50",
            *measure(lambda: get_ok("/api/municipalities/212172/nearby/", {"km": 50}), 200),
        )
    )
    print(f"{'measurement':<58} {'median ms':>10} {'p95 ms':>8}")
    for label, median, p95 in rows:
        print(f"{label:<58} {median:>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
