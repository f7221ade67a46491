"""Where a benchmark's time goes: wall seconds spent inside named functions, and CPU seconds
of processes (this one, and servers it talks to).

``Split`` wraps functions by dotted name (``module:attribute`` or ``module:Class.method``) for
as long as it is entered, adding up the wall time of each call; a name that does not exist
(the code moved) is reported as missing, never an error. Calls made from several threads add
up separately, so parts can overlap each other and the cycle's own wall time.
"""

import functools
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")


class Split:
    """Wall seconds and calls per wrapped function, while entered (``with split.wrapped():``)."""

    def __init__(self, targets: dict[str, str]) -> None:
        """``targets``: label → ``module:attribute`` (or ``module:Class.method``)."""
        self.targets = targets
        self.seconds: dict[str, float] = dict.fromkeys(targets, 0.0)
        self.calls: dict[str, int] = dict.fromkeys(targets, 0)
        self.missing: list[str] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.targets, 0.0)
        self.calls = dict.fromkeys(self.targets, 0)

    def report(self) -> dict[str, object]:
        shown: dict[str, object] = {
            label: {"seconds": round(self.seconds[label], 2), "calls": self.calls[label]}
            for label in self.targets
            if label not in self.missing
        }
        if self.missing:
            shown["missing"] = self.missing
        return shown

    @contextmanager
    def wrapped(self) -> Iterator["Split"]:
        undo: list[tuple[object, str, Callable[..., Any]]] = []
        for label, target in self.targets.items():
            found = _resolve(target)
            if found is None:
                self.missing.append(label)
                continue
            owner, name, original = found
            setattr(owner, name, self._timed(label, original))
            undo.append((owner, name, original))
        try:
            yield self
        finally:
            for owner, name, original in reversed(undo):
                setattr(owner, name, original)

    def _timed(self, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                with self._lock:
                    self.seconds[label] += spent
                    self.calls[label] += 1

        return timed


def _resolve(target: str) -> tuple[object, str, Callable[..., Any]] | None:
    module_name, _, path = target.partition(":")
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
        if owner is None:
            return None
    original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if original is None:
        return None
    return owner, name, original


def process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and of its children it has waited for (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command: state is field 3; utime, stime, cutime, cstime are fields 14-17.
    return sum(int(value) for value in fields[11:15]) / _TICKS


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children (a Postgres server and its backends)."""
    total = process_cpu(pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += process_cpu(int(entry.name))
    return total
