"""Effective alerting settings, by table: the SLO's own over its service's over the defaults."""

from datetime import timedelta
from typing import Any

import pytest

from slo_service.domain.alert_settings import (
    DEFAULT_MIN_EVENTS,
    DEFAULT_NO_DATA_FOR,
    effective,
)
from slo_service.domain.burn import Tier, default_tiers

MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("own", "service", "source", "min_events", "no_data_for"),
    [
        (None, None, "prometheus", DEFAULT_MIN_EVENTS, DEFAULT_NO_DATA_FOR),
        (None, None, "drift_store", DEFAULT_MIN_EVENTS, timedelta(days=1)),
        (None, None, {"source": "prediction_log", "expected_label_delay": "24h"},
         DEFAULT_MIN_EVENTS, timedelta(days=2, hours=1)),  # the delay, its hour, a day
        (None, None, {"source": "prediction_log", "bucket": "1d", "window_size": 500},
         DEFAULT_MIN_EVENTS, timedelta(days=1)),  # by count: no period to wait for
        ({"no_data_for": "3d"}, None, {"source": "prediction_log"}, DEFAULT_MIN_EVENTS,
         timedelta(days=3)),
        ({}, {"min_events": 50, "no_data_for": "2h"}, "push", 50.0, timedelta(hours=2)),
        ({"min_events": 0}, {"min_events": 50}, "push", 0.0, DEFAULT_NO_DATA_FOR),
        ({"no_data_for": "never"}, {"no_data_for": "2h"}, "prometheus", DEFAULT_MIN_EVENTS, None),
        ({"min_events": None, "no_data_for": None}, {"min_events": 5}, "prometheus", 5.0,
         DEFAULT_NO_DATA_FOR),
    ],
    ids=["defaults", "drift-store-default", "performance-default", "performance-by-count",
         "performance-own", "service", "own-over-service", "never",
         "null-inherits"],
)  # fmt: skip
def test_min_events_and_no_data_for_inherit(
    own: dict[str, Any] | None,
    service: dict[str, Any] | None,
    source: str | dict[str, Any],
    min_events: float,
    no_data_for: timedelta | None,
) -> None:
    sli = {"source": source} if isinstance(source, str) else source
    found = effective(own, service, window="30d", bucket=MINUTE, sli=sli)
    assert (found.min_events, found.no_data_for) == (min_events, no_data_for)


def test_default_tiers_are_scaled_to_the_window() -> None:
    found = effective(None, None, window="7d", bucket=MINUTE)
    assert found.tiers == default_tiers(timedelta(days=7), bucket=MINUTE)
    assert found.tiers[0] == Tier("page", timedelta(minutes=14), MINUTE, 14.4)
    assert (found.enabled, found.custom_tiers) == (True, False)


def test_user_tiers_keep_their_windows_with_a_factor_or_a_share() -> None:
    own = {
        "enabled": False,
        "tiers": [
            {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 10},
            {"severity": "ticket", "long_window": "1d", "short_window": "2h", "budget_spent": 0.5},
        ],
    }
    found = effective(own, None, window="7d", bucket=MINUTE)
    assert found.tiers == (
        Tier("page", timedelta(hours=1), timedelta(minutes=5), 10),
        Tier("ticket", timedelta(days=1), timedelta(hours=2), 0.5 * 7),
    )
    assert (found.enabled, found.custom_tiers) == (False, True)
