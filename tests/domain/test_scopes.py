import pytest

from slo_service.domain.scopes import Scope, grants, parse_scopes

R, W, G, A = Scope.READ, Scope.WRITE, Scope.GATE, Scope.ADMIN


@pytest.mark.parametrize(
    ("held", "needed", "allowed"),
    [
        ({A}, W, True),
        ({A}, G, True),
        ({W}, R, True),
        ({W}, A, False),
        ({R}, W, False),
        ({R}, G, True),
        ({G}, R, False),
        ({G}, G, True),
        ({G, R}, R, True),
        (set(), R, False),
    ],
    ids=[
        "admin-writes",
        "admin-gates",
        "write-reads",
        "write-not-admin",
        "read-not-write",
        "read-gates",
        "gate-not-read",
        "gate-gates",
        "either",
        "none",
    ],
)
def test_grants(held: set[Scope], needed: Scope, allowed: bool) -> None:
    assert grants(held, needed) is allowed


def test_parse_scopes() -> None:
    assert parse_scopes(" read, WRITE,read ") == [R, W]
    with pytest.raises(ValueError, match="unknown scope 'deploy'"):
        parse_scopes("read,deploy")
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes(" , ")
