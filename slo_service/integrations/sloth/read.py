"""Sloth documents to native SLO bodies: pure conversion, no I/O.

A file holds Sloth ``prometheus/v1`` specs (``version: prometheus/v1``, ``service``,
``labels``, ``slos``) or Kubernetes ``PrometheusServiceLevel`` resources (``apiVersion:
sloth.slok.dev/v1``, the same fields under ``spec``), in any number of YAML documents.
``convert`` reads them all and returns one body per SLO, each with where it comes from
(``document 1 (Sloth service myservice), slos[0]``); every problem of the file is named at once,
at its field, e.g. ``document 1 (Sloth service myservice), slos[0].objective: ...``.

The mapping: ``service`` and ``name`` → ``service`` and ``name`` (slugs); ``objective`` (a
percent) → ``objective_percent``; ``description`` → ``description``; the spec's ``labels``
and the SLO's (the SLO's win, as in Sloth) → ``labels``; the window is 30d, Sloth's default
period (``--default-slo-period``), which its files do not state; ``sli.events`` (and a raw
``errorRatioQuery`` where it is a ratio of counters) → a ``custom`` SLO with a ratio SLI
(``queries``); ``alerting`` → ``alerting`` and labels (``alerting``). SLI plugins and SLO
plugins are refused: they are Go code that Sloth runs.

The Kubernetes resource's ``metadata`` (name, namespace, labels, annotations, ...) and
``status`` are the object's, not its SLOs': ``metadata.name`` names the document in messages,
and the rest is not read. Either spelling of a field (prometheus/v1's ``error_query``, the
resource's ``errorQuery``) is read in both formats; both at once are refused.
"""

from collections.abc import Mapping
from typing import Any

from slo_service.errors import InvalidInput, format_loc
from slo_service.integrations.sloth import queries
from slo_service.integrations.sloth.alerting import read_alerting
from slo_service.integrations.sloth.fields import (
    LABEL_KEY,
    Problems,
    as_mapping,
    as_slug,
    as_string_map,
    as_text,
    check_keys,
    pick,
)
from slo_service.integrations.where import Here

VERSION = "prometheus/v1"
API_VERSION = "sloth.slok.dev/v1"
KIND = "PrometheusServiceLevel"
# Sloth's default period (--default-slo-period): its files do not state one.
WINDOW = "30d"
MAX_LABELS = 32
DESCRIPTION_MAX = 2000
# Native SLO bodies, each with where it comes from.
Converted = list[tuple[str, dict[str, Any]]]

_PLUGIN = (
    "not supported: a Sloth SLI plugin is Go code that Sloth runs, which slo-service cannot; "
    "write the plugin's queries as sli.events (error_query and total_query)"
)
_SLO_PLUGINS = (
    "not supported: SLO plugins are Go code that Sloth runs on its rules, which slo-service "
    "cannot; leave them out"
)
_PLUGIN_HINTS = {"slo_plugins": _SLO_PLUGINS, "sloPlugins": _SLO_PLUGINS}
_SHAPE = (
    f'{queries.COUNTER_FORM}, e.g. sum(rate(http_requests_total{{code=~"5.."}}[{{{{.window}}}}]))'
)


def is_sloth(document: Any) -> bool:
    """Whether a YAML document is Sloth's: ``version: prometheus/...`` or ``apiVersion:
    sloth.slok.dev/...``."""
    if not isinstance(document, dict):
        return False
    version, api = document.get("version"), document.get("apiVersion")
    return (isinstance(version, str) and version.startswith("prometheus/")) or (
        isinstance(api, str) and api.startswith("sloth.slok.dev/")
    )


def convert(documents: list[Any]) -> Converted:
    """The native bodies of the SLOs of Sloth ``documents``, each with where it comes from;
    InvalidInput names every problem of the file."""
    problems = Problems()
    converted: Converted = []
    for number, document in enumerate(documents, start=1):
        if "apiVersion" in document:
            converted += _resource(problems, number, document)
        else:
            converted += _spec(problems, number, document)
    problems.raise_any()
    if not converted:
        raise InvalidInput.at((), "the file holds no Sloth SLO")
    return converted


def _spec(problems: Problems, number: int, document: Mapping[str, Any]) -> Converted:
    """A ``prometheus/v1`` document."""
    service = document.get("service")
    named = f" (Sloth service {service})" if isinstance(service, str) else ""
    here = Here(f"document {number}{named}")
    if document["version"] != VERSION:
        problems.add(here.at("version"), f"{document['version']!r}: give {VERSION}")
    check_keys(
        problems,
        here,
        document,
        {"version", "service", "labels", "slos"},
        hints=_PLUGIN_HINTS,
        required=("service", "slos"),
    )
    return _slos(problems, here, document)


def _resource(problems: Problems, number: int, document: Mapping[str, Any]) -> Converted:
    """A Kubernetes ``PrometheusServiceLevel``: the spec under ``spec``."""
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    here = Here(f"document {number} ({KIND}{f' {name}' if isinstance(name, str) else ''})")
    if document["apiVersion"] != API_VERSION:
        problems.add(here.at("apiVersion"), f"{document['apiVersion']!r}: give {API_VERSION}")
    if document.get("kind") != KIND:
        problems.add(here.at("kind"), f"{document.get('kind')!r}: give {KIND}")
    check_keys(
        problems,
        here,
        document,
        {"apiVersion", "kind", "metadata", "spec", "status"},
        required=("spec",),
    )
    spec = as_mapping(problems, here.at("spec"), document.get("spec"))
    if not spec:
        return []
    check_keys(
        problems,
        here.at("spec"),
        spec,
        {"service", "labels", "slos"},
        hints=_PLUGIN_HINTS,
        required=("service", "slos"),
    )
    return _slos(problems, here.at("spec"), spec)


def _slos(problems: Problems, here: Here, spec: Mapping[str, Any]) -> Converted:
    """The SLOs of a spec (``service``, ``labels``, ``slos``)."""
    service = as_slug(problems, here.at("service"), spec.get("service"), "a service")
    labels = _labels(problems, here.at("labels"), spec.get("labels"))
    entries = spec.get("slos")
    if entries is None:
        return []
    if not isinstance(entries, list) or not entries:
        problems.add(here.at("slos"), "give a list of one or more SLOs")
        return []
    converted: Converted = []
    for index, entry in enumerate(entries):
        at = here.at("slos", index)
        before = problems.count()
        body = _slo(problems, at, entry, service, labels)
        if body is not None and problems.count() == before:
            converted.append((format_loc(at.location()), body))
    return converted


def _slo(
    problems: Problems,
    here: Here,
    value: Any,
    service: str | None,
    spec_labels: list[tuple[Here, str, str]],
) -> dict[str, Any] | None:
    """One Sloth SLO as a native body (None when it has a problem)."""
    slo = as_mapping(problems, here, value)
    if slo is None:
        return None
    check_keys(
        problems,
        here,
        slo,
        {"name", "objective", "description", "labels", "sli", "alerting"},
        hints=_PLUGIN_HINTS,
        required=("name", "objective", "sli"),
    )
    name = as_slug(problems, here.at("name"), slo.get("name"), "an SLO's name")
    body: dict[str, Any] = {"service": service, "name": name}
    if "description" in slo:
        description = as_text(problems, here.at("description"), slo["description"])
        if description is not None and len(description) > DESCRIPTION_MAX:
            problems.add(here.at("description"), f"over {DESCRIPTION_MAX} characters")
        elif description:
            body["description"] = description
    alerting = read_alerting(problems, here.at("alerting"), slo.get("alerting"))
    own = _labels(problems, here.at("labels"), slo.get("labels"))
    merged = _merged(problems, here, spec_labels, own, alerting.labels)
    if merged:
        body["labels"] = merged
    body["kind"] = "custom"
    if "objective" in slo:
        body["objective_percent"] = _objective(problems, here.at("objective"), slo["objective"])
    body["window"] = WINDOW
    if "sli" in slo:
        body["sli"] = _sli(problems, here.at("sli"), slo["sli"])
    if alerting.policy is not None:
        body["alerting"] = alerting.policy
    return body


def _labels(problems: Problems, here: Here, value: Any) -> list[tuple[Here, str, str]]:
    """A ``labels`` block, each label with where it is."""
    return [(here.at(key), key, text) for key, text in as_string_map(problems, here, value).items()]


def _merged(
    problems: Problems,
    here: Here,
    spec_labels: list[tuple[Here, str, str]],
    own: list[tuple[Here, str, str]],
    kept: list[tuple[Here, str, str]],
) -> dict[str, str]:
    """The SLO's labels: the spec's, then its own (which win, as in Sloth), then those kept
    from its alerting, which must not contradict them."""
    labels: dict[str, str] = {}
    origin: dict[str, Here] = {}
    given = [(entry, False) for entry in (*spec_labels, *own)] + [(entry, True) for entry in kept]
    for (at, key, text), from_alerting in given:
        if not LABEL_KEY.fullmatch(key):
            problems.add(
                at,
                f"slo-service keeps it as the label {key!r}, which is not a label key: start "
                "with a letter or '_', then letters, digits, '_./-', at most 63 characters",
            )
            continue
        if from_alerting and key in labels and labels[key] != text:
            where = format_loc(origin[key].location())
            problems.add(
                at,
                f"slo-service keeps it as the label {key}={text!r}, but {where} gives "
                f"{key}={labels[key]!r}: an SLO has one value per label; make them equal or "
                "leave one out",
            )
            continue
        labels[key] = text
        origin[key] = at
    if len(labels) > MAX_LABELS:
        problems.add(
            here.at("labels"),
            f"{len(labels)} labels with the service's and those kept from alerting: "
            f"slo-service keeps at most {MAX_LABELS} per SLO",
        )
    return labels


def _objective(problems: Problems, here: Here, value: Any) -> float | None:
    """Sloth's objective, a percent in (0, 100]: slo-service's is strictly below 100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(here, f"{value!r} is not a number")
        return None
    if value == 100:
        problems.add(here, "100 leaves no error budget: give an objective below 100")
        return None
    if not 0 < value < 100:
        problems.add(here, f"must be between 0 and 100 exclusive (e.g. 99.9), got {value}")
        return None
    return float(value)


def _sli(problems: Problems, here: Here, value: Any) -> dict[str, Any] | None:
    """``sli.events`` or ``sli.raw`` as a ratio SLI; ``sli.plugin`` is refused."""
    sli = as_mapping(problems, here, value)
    if sli is None:
        return None
    check_keys(problems, here, sli, {"events", "raw"}, hints={"plugin": _PLUGIN})
    kinds = [key for key in ("events", "raw", "plugin") if key in sli]
    if len(kinds) != 1:
        problems.add(here, "give one of events and raw")
        return None
    if kinds[0] == "events":
        return _events(problems, here.at("events"), sli["events"])
    if kinds[0] == "raw":
        return _raw(problems, here.at("raw"), sli["raw"])
    return None


def _events(problems: Problems, here: Here, value: Any) -> dict[str, Any] | None:
    """``error_query`` over ``total_query`` (``errorQuery``/``totalQuery`` in Kubernetes)."""
    events = as_mapping(problems, here, value)
    if events is None:
        return None
    names = ("error_query", "errorQuery", "total_query", "totalQuery")
    check_keys(problems, here, events, names)
    error, total = (pick(problems, here, events, *n) for n in (names[:2], names[2:]))
    for given, name in ((error, "error_query"), (total, "total_query")):
        if given is None:
            problems.add(here.at(name), "required")
    if error is None or total is None:
        return None
    error_at, error_query = error
    total_at, total_query = total
    try:
        selector = queries.counter(_query(total_query))
    except queries.NotCounted as exc:
        problems.add(total_at, f"not read: {exc}; slo-service counts events itself: give {_SHAPE}")
        return None
    try:
        ratio = queries.error_events(_query(error_query), selector, str(total_at.path[-1]))
    except queries.NotCounted as exc:
        problems.add(
            error_at,
            f"not read: {exc}; slo-service counts events itself: give {_SHAPE}, or TOTAL - GOOD "
            "of two such terms",
        )
        return None
    return _ratio(ratio)


def _raw(problems: Problems, here: Here, value: Any) -> dict[str, Any] | None:
    """A raw ``errorRatioQuery``, read where it is a ratio of counters."""
    raw = as_mapping(problems, here, value)
    if raw is None:
        return None
    names = ("errorRatioQuery", "error_ratio_query")
    check_keys(problems, here, raw, names)
    given = pick(problems, here, raw, *names)
    if given is None:
        problems.add(here.at(names[0]), "required")
        return None
    at, query = given
    try:
        return _ratio(queries.error_ratio(_query(query)))
    except queries.NotCounted as exc:
        problems.add(
            at,
            f"not read: {exc}; slo-service counts bad and total events, so an error ratio is "
            "read only as BAD / TOTAL or 1 - (GOOD / TOTAL) of counters' rates "
            f"({queries.COUNTER_FORM}); give sli.events (error_query and total_query) instead",
        )
        return None


def _query(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise queries.NotCounted("it is not a non-empty string")
    return value


def _ratio(ratio: queries.Ratio) -> dict[str, Any]:
    sli: dict[str, Any] = {"source": "prometheus", "type": "ratio"}
    if ratio.good is not None:
        sli["good"] = ratio.good
    else:
        sli["bad"] = ratio.bad
    sli["total"] = ratio.total
    return sli
