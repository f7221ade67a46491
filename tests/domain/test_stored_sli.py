"""Stored SLIs are validated once per distinct SLI and shared, never mixed up."""

import pydantic
import pytest

from slo_service.domain.sli import SLI_ADAPTER, RatioSli, stored_sli

RATIO = {"source": "prometheus", "type": "ratio", "good": 'x{code="ok"}', "total": "x"}


def test_the_same_sli_is_validated_once_and_shared() -> None:
    first = stored_sli(dict(RATIO))
    assert first == SLI_ADAPTER.validate_python(RATIO)
    assert stored_sli(dict(reversed(list(RATIO.items())))) is first  # key order is no matter
    assert isinstance(first, RatioSli)


def test_different_slis_stay_apart() -> None:
    other, first = stored_sli({**RATIO, "total": "y"}), stored_sli(RATIO)
    assert isinstance(other, RatioSli)
    assert isinstance(first, RatioSli)
    assert (other.total, first.total) == ("y", "x")


def test_an_invalid_sli_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(pydantic.ValidationError):
            stored_sli({**RATIO, "total": "x{"})
