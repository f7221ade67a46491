"""The pages' narrowing of services, by tables: flags, states, search, paging, the counts per
team of what is left out, and the filter as a query string."""

from collections import Counter

import pytest

from slo_service.services import listing
from slo_service.services.listing import Filter


@pytest.mark.parametrize(
    ("states", "frozen", "alerts", "expected"),
    [
        (["ok", "ok"], False, 0, set()),
        (["ok", "exhausted"], False, 0, {"breached"}),
        (["warning", "no_data"], False, 0, {"at-risk", "no-data"}),
        (["ok"], True, 0, {"frozen"}),
        (["ok"], False, 2, {"firing"}),
        ([], False, 0, set()),
    ],
)
def test_flags(states: list[str], frozen: bool, alerts: int, expected: set[str]) -> None:
    assert listing.flags(states, frozen=frozen, alerts=alerts) == expected


@pytest.mark.parametrize(
    ("flags", "state", "listed"),
    [
        (set(), "attention", False),
        ({"no-data"}, "attention", False),  # no data alone is not a reason to look
        ({"breached"}, "attention", True),
        ({"at-risk"}, "attention", True),
        ({"frozen"}, "attention", True),
        ({"firing"}, "attention", True),
        (set(), "healthy", True),
        ({"no-data"}, "healthy", True),
        ({"firing"}, "healthy", False),
        ({"breached", "frozen"}, "frozen", True),
        ({"breached"}, "frozen", False),
        ({"no-data"}, "no-data", True),
        (set(), "all", True),
        ({"breached"}, "all", True),
    ],
)
def test_in_state(flags: set[str], state: str, listed: bool) -> None:
    assert listing.in_state(frozenset(flags), state) is listed


@pytest.mark.parametrize(
    ("service", "teams", "wanted", "found"),
    [
        ("fraud-scorer", ["risk"], Filter(), True),
        ("fraud-scorer", ["risk"], Filter(q="SCORE"), True),  # any case
        ("fraud-scorer", ["risk"], Filter(q="churn"), False),
        ("fraud-scorer", ["risk"], Filter(team="risk"), True),
        ("fraud-scorer", ["risk"], Filter(team="ris"), False),  # a team is matched exactly
        ("fraud-scorer", ["risk", "growth"], Filter(team="growth"), True),
        ("fraud-scorer", [""], Filter(team="risk"), False),
        ("fraud-scorer", ["risk"], Filter(q="fraud", team="growth"), False),
    ],
)
def test_searched(service: str, teams: list[str], wanted: Filter, found: bool) -> None:
    assert listing.searched(service, teams, wanted) is found


@pytest.mark.parametrize(
    ("count", "number", "size", "shown", "page"),
    [
        (0, 1, 3, [], listing.Page(1, 1, 0, 0, 0)),
        (2, 1, 3, [0, 1], listing.Page(1, 1, 2, 1, 2)),
        (7, 2, 3, [3, 4, 5], listing.Page(2, 3, 7, 4, 6)),
        (7, 3, 3, [6], listing.Page(3, 3, 7, 7, 7)),
        (7, 99, 3, [6], listing.Page(3, 3, 7, 7, 7)),  # past the last: the last
        (6, 0, 3, [0, 1, 2], listing.Page(1, 2, 6, 1, 3)),
    ],
)
def test_page_of(count: int, number: int, size: int, shown: list[int], page: listing.Page) -> None:
    assert listing.page_of(list(range(count)), number, size) == (shown, page)


def test_groups_count_services_and_slos_per_team_largest_first_no_team_last() -> None:
    found = listing.groups(
        [
            ("risk", ["ok", "ok"]),
            ("", ["ok"]),
            ("growth", ["ok", "no_data"]),
            ("growth", ["warning"]),
            ("ads", ["ok"]),
            ("", ["ok"]),
            ("", ["ok"]),
        ]
    )
    assert [(g.team, g.services) for g in found] == [("growth", 2), ("ads", 1), ("risk", 1),
                                                      ("", 3)]  # fmt: skip
    assert found[0].states == Counter({"ok": 1, "no_data": 1, "warning": 1})
    assert found[3].states == Counter({"ok": 3})


@pytest.mark.parametrize(
    ("wanted", "changes", "query"),
    [
        (Filter(), {}, ""),
        (Filter(q="a b&c"), {}, "q=a%20b%26c"),
        (Filter(team="risk", state="all", page=3), {}, "team=risk&state=all&page=3"),
        (Filter(team="risk", page=3), {"page": 1}, "team=risk"),
        (Filter(q="x"), {"team": "ads/ml", "state": "healthy"}, "q=x&team=ads%2Fml&state=healthy"),
        (Filter(state="breached"), {"state": "attention"}, ""),
    ],
)
def test_the_filter_as_a_query(wanted: Filter, changes: dict[str, str | int], query: str) -> None:
    assert wanted.query(**changes) == query
