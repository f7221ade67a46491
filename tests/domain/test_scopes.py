import pytest

from slo_service.domain.scopes import Scope, grants, parse_scopes

R, W, G, A, OV = Scope.READ, Scope.WRITE, Scope.GATE, Scope.ADMIN, Scope.OVERRIDE


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
        ({A}, OV, True),
        ({W}, OV, False),
        ({OV}, OV, True),
        ({OV}, R, True),
        ({OV}, G, True),
        ({OV}, W, False),
        ({W, OV}, OV, True),
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
        "admin-overrides",
        "write-not-override",
        "override-overrides",
        "override-reads",
        "override-gates",
        "override-not-write",
        "write-and-override",
    ],
)
def test_grants(held: set[Scope], needed: Scope, allowed: bool) -> None:
    assert grants(held, needed) is allowed


def test_parse_scopes() -> None:
    assert parse_scopes(" read, WRITE,read ") == [R, W]
    assert parse_scopes("write,override") == [W, OV]
    with pytest.raises(ValueError, match="unknown scope 'deploy'"):
        parse_scopes("read,deploy")
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes(" , ")
