"""A gate request for a service nobody knows names a few known ones, read without going
through every SLO (a misspelt name must not cost more as the fleet grows)."""

from sqlmodel import Session

from slo_service.models import SLO
from slo_service.services.gate import state


def add_services(session: Session, names: list[str]) -> None:
    for name in names:
        session.add(
            SLO(
                service=name, name="availability", kind="availability", objective=0.99,
                window="7d", budgeting="occurrences", params={}, sli={"source": "push"},
                gate={}, labels={},
            )
        )  # fmt: skip
    session.commit()


def test_the_first_twenty_services_are_named(session: Session) -> None:
    names = [f"model-{n:02d}" for n in range(25)]
    add_services(session, list(reversed(names)))
    message = state.unknown(session, "modle-01")
    listed = ", ".join(names[:20])
    assert message == (
        f"no service 'modle-01': no SLO belongs to it (services with SLOs: {listed}, ...); "
        "check the name, or create its SLOs first"
    )


def test_a_few_services_are_all_named(session: Session) -> None:
    add_services(session, ["fraud", "churn", "churn-eu"])
    message = state.unknown(session, "nope")
    assert "(services with SLOs: churn, churn-eu, fraud);" in message


def test_no_service_at_all(session: Session) -> None:
    assert state.unknown(session, "nope") == (
        "no service 'nope': no SLO belongs to it; check the name, or create its SLOs first"
    )
