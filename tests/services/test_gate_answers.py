"""Kept answers of the gate are, byte for byte, the answers decided afresh at each instant."""

from datetime import timedelta

import pytest

from slo_service.domain.gate import ChangeType, ServiceState, decide
from slo_service.services.gate.answers import Answers, public
from tests.domain.test_gate import NOW, SPENT, override, slo

BASE = "https://slo.example.com"
LIMIT = timedelta(minutes=15)
FRESH_AT = NOW - timedelta(minutes=10)  # turns stale at NOW + 5m


def afresh(state: ServiceState, change_type: ChangeType, seconds: float) -> bytes:
    now = NOW + timedelta(seconds=seconds)
    verdict = decide(state, change_type=change_type, now=now)
    return public(verdict, base_url=BASE, decided_at=now).model_dump_json().encode()


STATE = ServiceState(
    "churn",
    (slo(0.8, evaluated_at=FRESH_AT), SPENT, slo(0.1, name="latency", slo_id=2)),
    overrides=(override(expires_at=NOW + timedelta(minutes=2)),),
)
# Seconds after NOW: within the steady span, at and past the override's expiry, at and past
# the moment an SLO turns stale, then as its age in minutes moves on.
TIMES = [0, 1.5, 119.999, 120, 121, 299.5, 300, 300.001, 359, 360, 361, 3600]


@pytest.mark.parametrize("change_type", list(ChangeType))
def test_kept_answers_equal_fresh_ones_at_every_instant(change_type: ChangeType) -> None:
    answers = Answers(BASE)
    for seconds in TIMES:
        got = answers.json(STATE, change_type, NOW + timedelta(seconds=seconds))
        assert got == afresh(STATE, change_type, seconds), seconds


def test_a_new_copy_of_the_state_is_decided_afresh() -> None:
    answers = Answers(BASE)
    first = answers.json(STATE, ChangeType.FEATURE, NOW)
    assert b'"decision":"allow"' in first  # the override lets it through
    newer = ServiceState("churn", STATE.slos)  # the override was revoked
    assert b'"decision":"deny"' in answers.json(newer, ChangeType.FEATURE, NOW)
