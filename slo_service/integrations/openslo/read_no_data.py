"""An AlertPolicy's ``alertWhenNoData`` as slo-service's no-data ticket: true (or left out)
keeps it (raised after ``no_data_for`` of silence), false turns it off (``no_data_for:
never``)."""

from collections.abc import Mapping

from slo_service.domain.alert_settings import NEVER
from slo_service.integrations.openslo.common import NO_DATA_FOR_ANNOTATION
from slo_service.integrations.openslo.read_fields import Problem, location
from slo_service.integrations.where import Here


def no_data_problems(no_data: Mapping[bool, Here], notes: Mapping[str, str]) -> list[Problem]:
    """``alertWhenNoData``: true is slo-service's no-data ticket (raised after ``no_data_for``
    of silence), false turns it off (``no_data_for: never``); policies that disagree, or a
    false beside the annotation that sets ``no_data_for``, are refused."""
    if True in no_data and False in no_data:
        return [
            (
                location(no_data[False]),
                "false, but another alert policy of the SLO says true: an SLO raises its "
                "no-data ticket or not; make them agree",
            )
        ]
    given = notes.get(NO_DATA_FOR_ANNOTATION)
    if False in no_data and given is not None and given != NEVER:
        return [
            (
                location(no_data[False]),
                f"false turns the no-data ticket off, but {NO_DATA_FOR_ANNOTATION} raises it "
                f"after {given}: leave one out",
            )
        ]
    return []
