"""Where a value sits in a file being read (OpenSLO, Sloth): its document's label and the path
inside the document, and how an InvalidInput names it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Here:
    """Where a value sits: its document's label and the path inside the document."""

    label: str
    path: tuple[str | int, ...] = ()

    def at(self, *keys: str | int) -> "Here":
        return Here(self.label, (*self.path, *keys))

    def location(self) -> tuple[str | int, ...]:
        """As an InvalidInput location: the label and the first key joined as the head, e.g.
        ``("document 2 (SLO x), spec", "objectives", 0)``."""
        if not self.path:
            return (self.label,)
        head, *rest = self.path
        if isinstance(head, int):
            return (self.label, *self.path)
        return (f"{self.label}, {head}", *rest)
