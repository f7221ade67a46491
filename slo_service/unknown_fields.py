"""Messages for a field the model does not have: "unknown field 'objectve' (did you mean
'objective'?)" instead of pydantic's "Extra inputs are not permitted".

pydantic's error names only where the field is (its ``loc``), not the model that refused
it; so the model is found by walking that ``loc`` down the annotations of the model that was
validated: fields by name or alias, list items by index, map values by key, union members by
the tag or class name pydantic puts in the ``loc``. When the walk does not end at exactly one
model, the message only names the field (no guess is better than a wrong one)."""

import difflib
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag

EXTRA_FORBIDDEN = "extra_forbidden"  # pydantic's error type for a field the model lacks
MAX_LISTED = 12  # beyond this many fields, naming them all would bury the message
_SEQUENCES = (list, tuple, set, frozenset, Sequence)
_MAPPINGS = (dict, Mapping)


def message(root: Any, loc: Sequence[str | int]) -> str:
    """What to say about the unknown field at ``loc`` of input validated as ``root`` (a model
    class or an annotation such as a tagged union; ``None`` when unknown)."""
    field = str(loc[-1]) if loc else ""
    names = field_names(root, loc[:-1]) if root is not None else None
    if not names:
        return f"unknown field {field!r}"
    close = difflib.get_close_matches(field, names, n=1)
    if close:
        return f"unknown field {field!r} (did you mean {close[0]!r}?)"
    if len(names) <= MAX_LISTED:
        return f"unknown field {field!r}: the fields are {', '.join(names)}"
    return f"unknown field {field!r}"


def model_named(title: str) -> type[BaseModel] | None:
    """The one model class called ``title`` (a ``ValidationError``'s title is the name of the
    model validated), or ``None`` when there is none or more than one."""
    found = {cls for cls in _subclasses(BaseModel) if cls.__name__ == title}
    return found.pop() if len(found) == 1 else None


def field_names(root: Any, loc: Sequence[str | int]) -> list[str] | None:
    """The fields (as a client writes them: aliases first) of the one model at ``loc`` inside
    ``root``, in the model's order; ``None`` when ``loc`` does not lead to exactly one."""
    candidates = [root]
    for part in loc:
        candidates = _step(candidates, part)
        if not candidates:
            return None
    models = {member for annotation in candidates for member, _ in _members(annotation)}
    models = {member for member in models if _is_model(member)}
    if len(models) != 1:
        return None
    return _names(models.pop())


def _step(candidates: list[Any], part: str | int) -> list[Any]:
    """The annotations one ``loc`` part leads to from ``candidates``: a union member named
    by its tag, else a field, a list item or a map value."""
    members = [pair for annotation in candidates for pair in _members(annotation)]
    if isinstance(part, str):
        tagged = [member for member, tags in members if _names_member(part, member, tags)]
        if tagged:
            return tagged
    found = []
    for member, _ in members:
        origin = get_origin(member)
        args = get_args(member)
        if isinstance(part, int):
            if isinstance(origin, type) and issubclass(origin, _SEQUENCES) and args:
                found.append(args[0])
        elif _is_model(member):
            field = _field(member, part)
            if field is not None:
                found.append(field)
        elif isinstance(origin, type) and issubclass(origin, _MAPPINGS) and len(args) == 2:
            found.append(args[1])
    return found


def _members(
    annotation: Any, tags: frozenset[str] = frozenset()
) -> Iterator[tuple[Any, frozenset[str]]]:
    """The types a union (or an ``Annotated``, or ``X | None``) may hold, each with the tags
    its ``Annotated`` gives it."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = get_args(annotation)
        own = {item.tag for item in metadata if isinstance(item, Tag)}
        yield from _members(inner, tags | own)
    elif origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            yield from _members(arg, tags)
    else:
        yield annotation, tags


def _names_member(part: str, member: Any, tags: frozenset[str]) -> bool:
    """Whether ``part`` is how pydantic names this union member in a ``loc``: its tag, or
    its class name (alone, or last inside a validator's wrapper like ``function-after[f(), A]``)."""
    if part in tags:
        return True
    if not _is_model(member):
        return False
    name = member.__name__
    return part == name or part.endswith((f"[{name}]", f", {name}]"))


def _field(model: type[BaseModel], name: str) -> Any:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias, info.validation_alias):
            return info.annotation
    return None


def _names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _is_model(member: Any) -> bool:
    return isinstance(member, type) and issubclass(member, BaseModel)


def _subclasses(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
