"""API token scopes and what each one grants."""

from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    GATE = "gate"
    OVERRIDE = "override"
    ADMIN = "admin"


NAMES = ", ".join(Scope)

# A token may do what any of its scopes grants: admin everything, write also reads, read also
# asks the deploy gate, and a gate token only asks the gate (for CI). Override is break-glass
# (an override lets deploys through a freeze) and so is not part of write: it also reads, and
# is given with write to whoever is on call ("write,override").
GRANTS: dict[Scope, frozenset[Scope]] = {
    Scope.ADMIN: frozenset(Scope),
    Scope.WRITE: frozenset({Scope.WRITE, Scope.READ, Scope.GATE}),
    Scope.OVERRIDE: frozenset({Scope.OVERRIDE, Scope.READ, Scope.GATE}),
    Scope.READ: frozenset({Scope.READ, Scope.GATE}),
    Scope.GATE: frozenset({Scope.GATE}),
}


def grants(held: Iterable[Scope], needed: Scope) -> bool:
    """Whether a token holding ``held`` may do what needs ``needed``."""
    return any(needed in GRANTS[scope] for scope in held)


def may_record_deploys(held: Iterable[Scope]) -> bool:
    """CI records its deploys with the token it asks the gate with: a gate token may, and so
    may any token that may write; a read token may not."""
    held = set(held)
    return Scope.GATE in held or grants(held, Scope.WRITE)


def parse_scopes(text: str) -> list[Scope]:
    """``"read,write"`` → [Scope.READ, Scope.WRITE]; ValueError names the unknown scope."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError(f"give at least one scope: {NAMES}")
    scopes: list[Scope] = []
    for name in names:
        try:
            scope = Scope(name)
        except ValueError:
            raise ValueError(f"unknown scope {name!r}: use {NAMES}, comma-separated") from None
        if scope not in scopes:
            scopes.append(scope)
    return scopes
