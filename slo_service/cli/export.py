"""``slo-service export``: live SLOs as YAML that ``apply -f`` reads, native or OpenSLO v1."""

from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml

from slo_service.cli.common import EXIT_UNREACHABLE, database, fail, settings_or_exit
from slo_service.db import session_scope
from slo_service.errors import InvalidInput, format_loc
from slo_service.integrations.openslo import common as openslo_common
from slo_service.integrations.openslo import write as openslo_write
from slo_service.repositories import slos as slo_repo
from slo_service.services import slos

PAGE = 1000

# Native fields left out of the export when they hold their default.
_DEFAULTS: dict[str, Any] = {
    "description": "",
    "labels": {},
    "timezone": "UTC",
    "params": {},
    "sli": None,
    "no_data": "ignore",
    "alerting": None,
}


class ExportFormat(StrEnum):
    NATIVE = "native"
    OPENSLO = "openslo"


def export(
    output_format: Annotated[
        ExportFormat,
        typer.Option("--format", help="native: the YAML apply reads; openslo: OpenSLO v1."),
    ] = ExportFormat.NATIVE,
    service: Annotated[
        list[str] | None, typer.Option(help="Only this service's SLOs; repeat for several.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file, not stdout.")
    ] = None,
    skip_unsupported: Annotated[
        bool,
        typer.Option(help="Leave out (and name) the SLOs OpenSLO cannot express; else exit 1."),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(envvar="SLO_API_URL", help="Read from this server instead of the DB."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="SLO_API_TOKEN", help="Token with the read scope.")
    ] = None,
) -> None:
    """Write the live SLOs as YAML: `apply -f` reads either format back."""
    wanted = set(service or ())
    if url:
        publics, bucket = _remote(url, token, wanted), None
    else:
        publics, bucket = _local(wanted)
    count = len(publics)
    if output_format is ExportFormat.NATIVE:
        text = yaml.safe_dump_all(native_documents(publics), sort_keys=False, allow_unicode=True)
    else:
        documents, refused = _openslo(publics, bucket, url, token)
        if refused and not skip_unsupported:
            raise fail(
                "not exported: OpenSLO cannot express\n  "
                + "\n  ".join(f"{who}: {reason}" for who, reason in refused.items())
                + "\n(--skip-unsupported leaves them out; --format native keeps everything)"
            )
        for who, reason in refused.items():
            typer.secho(f"skipped {who}: {reason}", err=True, fg=typer.colors.YELLOW)
        text = openslo_write.dump(documents) if documents else ""
        count -= len(refused)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text)
    except OSError as exc:
        raise fail(f"{out}: cannot write: {exc.strerror}") from None
    typer.echo(f"wrote {count} SLOs to {out}", err=True)


def native_documents(publics: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One ``{service, slos: [...]}`` document per service, fields at their default left out."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for public in publics:
        spec = {
            field: public["sli_overrides" if field == "sli" else field]
            for field in slos.SPEC_FIELDS
            if field != "service"
        }
        gate = {key: value for key, value in (spec.pop("gate") or {}).items() if value is not None}
        kept = {key: value for key, value in spec.items() if _DEFAULTS.get(key, ...) != value}
        if gate:
            kept["gate"] = gate
        by_service.setdefault(public["service"], []).append(kept)
    return [{"service": service, "slos": items} for service, items in by_service.items()]


def _local(wanted: set[str]) -> tuple[list[dict[str, Any]], int]:
    settings = settings_or_exit()
    with database(settings) as engine, session_scope(engine) as session:
        rows = [row for row in slo_repo.live(session) if not wanted or row.service in wanted]
        publics = [slos.to_public(row).model_dump(mode="json") for row in rows]
    return publics, settings.bucket_seconds


def _get(url: str, token: str | None, path: str, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        return httpx.get(f"{url.rstrip('/')}{path}", params=params, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        raise fail(f"{url}: unreachable: {exc}", EXIT_UNREACHABLE) from None


def _remote(url: str, token: str | None, wanted: set[str]) -> list[dict[str, Any]]:
    publics: list[dict[str, Any]] = []
    services: list[str | None] = [*sorted(wanted)] or [None]
    for service in services:
        offset = 0
        while True:
            query: dict[str, Any] = {"limit": PAGE, "offset": offset}
            if service is not None:
                query["service"] = service
            response = _get(url, token, "/api/v1/slos", **query)
            if response.status_code != 200:
                raise fail(f"{url} answered {response.status_code}: {response.text}")
            page = response.json()
            publics += page["data"]
            offset += PAGE
            if offset >= page["count"]:
                break
    return sorted(publics, key=lambda public: int(public["id"]))


def _openslo(
    publics: Sequence[Mapping[str, Any]], bucket: int | None, url: str | None, token: str | None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The OpenSLO documents of the SLOs, and why for each SLO the format cannot express.
    From a server, each SLO is asked for as OpenSLO: its time slice is the server's bucket."""
    documents: list[dict[str, Any]] = []
    refused: dict[str, str] = {}
    for public in publics:
        who = f"{public['service']}:{public['name']}"
        if url is None:
            try:
                documents += openslo_write.to_openslo(
                    public, bucket_seconds=bucket or openslo_common.DEFAULT_BUCKET_SECONDS
                )
            except InvalidInput as exc:
                refused[who] = "; ".join(
                    f"{format_loc(loc)}: {reason}" for loc, reason in exc.problems
                )
            continue
        response = _get(url, token, f"/api/v1/slos/{public['id']}", format="openslo")
        if response.status_code == 422:
            refused[who] = str(response.json()["detail"])
        elif response.status_code != 200:
            raise fail(f"{url} answered {response.status_code}: {response.text}")
        else:
            documents += [doc for doc in yaml.safe_load_all(response.text) if doc is not None]
    return documents, refused
