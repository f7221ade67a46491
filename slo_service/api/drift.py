"""``/api/v1/drift/{service}``: reference data, production batches, external measurements.

References and batches come as JSON columns or as CSV (a ``text/csv`` body, or a
``multipart/form-data`` upload with the file in the field ``file``); with CSV the other fields
are query parameters. Bodies are parsed here, by hand, so that a batch of millions of values is
converted column by column with numpy instead of value by value by the validation layer.
"""

import csv
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from slo_service.api.deps import Reader, SessionDep, SettingsDep, Writer
from slo_service.db import utcnow
from slo_service.domain import drift_columns
from slo_service.domain.drift_columns import Column, FeatureType
from slo_service.domain.text import NUL, NUL_HELP
from slo_service.errors import BadRequest, InvalidInput
from slo_service.schemas.common import SLUG_PATTERN, Instant, refuse_nul
from slo_service.schemas.drift import (
    BatchIn,
    BatchPublic,
    DriftPublic,
    MeasurementsIn,
    MeasurementsResult,
    ReferenceIn,
    ReferencePublic,
)
from slo_service.schemas.errors import error_responses
from slo_service.services.drift import predictions as prediction_drift
from slo_service.services.drift import store as drift
from slo_service.services.drift import views as drift_views
from slo_service.services.drift.predictions import PREDICTIONS

router = APIRouter(
    prefix="/drift/{service}", tags=["drift"], responses=error_responses(400, 401, 403, 413, 422)
)
Service = Annotated[str, Path(pattern=SLUG_PATTERN, description="The model.")]
Model = TypeVar("Model", ReferenceIn, BatchIn)
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI: the JSON schema, and the CSV forms of the same upload."""
    csv_help = "A header row of feature names, one row per record; an empty cell is missing."
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inlined(model.model_json_schema())},
                "text/csv": {"schema": {"type": "string", "description": csv_help}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    }


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` put in place (OpenAPI resolves ``$ref``
    against the whole document, where ``#/$defs`` does not exist)."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


class _Upload:
    """An upload's bytes (read here, parsed in the thread pool), handed over once: the parser
    takes them and they are freed as soon as it is done with them, so that a CSV body is not
    held as bytes and as text at once."""

    def __init__(self, is_csv: bool, raw: bytes | bytearray) -> None:
        self.csv = is_csv
        self._raw = raw

    def take(self) -> bytes | bytearray:
        raw, self._raw = self._raw, b""
        return raw

    def values(self) -> int:
        """At most how many values the body holds, counted by their separators before it is
        parsed (a comma or a line end after each CSV cell, a comma between JSON values); a
        separator inside a quoted text counts too."""
        commas = self._raw.count(b",")
        return commas + self._raw.count(b"\n") if self.csv else commas + 1


async def _upload(request: Request) -> _Upload:
    """The request's upload: CSV or JSON, and its bytes."""
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput.at(("file",), "upload the CSV in the form field 'file'")
        return _Upload(True, await upload.read())
    if kind not in (*CSV_TYPES, "application/json"):
        raise BadRequest(f"content type {kind!r}: send application/json, text/csv or multipart")
    return _Upload(kind in CSV_TYPES, await _body(request))


async def _body(request: Request) -> bytearray:
    """The body in one buffer, read up to the route's limit (``api.body_limit``).
    ``request.body()`` would keep the chunks and join them (twice the body at once), and keep
    the result on the request until the answer is sent."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    return body


def _columns(
    upload: _Upload, *, model: type[Model], types: Mapping[str, FeatureType], max_values: int
) -> tuple[Model | None, dict[str, Column]]:
    """The body as typed columns (and the JSON body's other fields); ``types`` are the
    declared or the reference's types. More than ``max_values`` values is refused unread."""
    if (values := upload.values()) > max_values:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"the upload holds {values:,} values (counted by their separators); at most "
            f"{max_values:,} in one upload (SLO_MAX_UPLOAD_VALUES): send fewer rows at a time",
        )
    if upload.csv:
        try:
            return None, drift_columns.from_csv(_text(upload.take()), types)
        except csv.Error as exc:  # the csv module's own refusals: a lone \r in a cell, a huge cell
            raise InvalidInput.at(("body",), f"not CSV: {exc}") from None
    raw = upload.take()
    data = _json(raw)
    if not isinstance(data, dict):
        raise InvalidInput.at(("body",), "must be a JSON object with 'columns'")
    try:
        # A NUL in a JSON string is written \u0000: only a body holding that text can hold
        # one, and only then are its values walked (millions in a big batch).
        if b"\\u0000" in raw:
            refuse_nul(data)
        del raw  # parsed: what is left to hold is its values
        body = model.model_validate(_listless(data))
    except ValidationError as exc:
        raise InvalidInput.from_pydantic(exc) from None
    declared = body.types if isinstance(body, ReferenceIn) and body.types else types
    return body, drift_columns.from_json(data["columns"], declared, consume=True)


def _listless(data: dict[str, Any]) -> dict[str, Any]:
    """The body with each column's list emptied, for validation: validating the lists would
    copy them, and their values are checked column by column by ``domain.drift_columns``."""
    columns = data.get("columns")
    if not isinstance(columns, dict):
        return data
    return {**data, "columns": {k: [] if isinstance(v, list) else v for k, v in columns.items()}}


def _json(raw: bytes | bytearray) -> Any:
    """orjson reads a big batch several times faster than the standard library; it refuses
    NaN and Infinity, which the standard library reads, so that the column check can name the
    feature that holds them."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput.at(("body",), f"not JSON: {exc}") from None
    except RecursionError:  # orjson refused it for the same reason: more than 1,024 levels
        raise InvalidInput.at(
            ("body",), "the JSON is nested too deeply: columns hold flat lists of values"
        ) from None


def _text(data: bytes | bytearray) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.at(("body",), "the CSV must be UTF-8 text") from None
    if NUL in text:
        raise InvalidInput.at(("body",), f"the CSV {NUL_HELP}")
    return text


def _declared(categorical: str | None, numeric: str | None) -> dict[str, FeatureType]:
    named = {name.strip(): FeatureType.CATEGORICAL for name in (categorical or "").split(",")}
    named |= {name.strip(): FeatureType.NUMERIC for name in (numeric or "").split(",")}
    named.pop("", None)
    return named


@router.post(
    "/reference",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_body_doc(ReferenceIn),
)
async def post_reference(
    service: Service,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Writer,
    bins: Annotated[int, Query(ge=2, le=100, description="CSV only: quantile bins.")] = 10,
    categorical: Annotated[
        str | None, Query(description="CSV only: comma-separated categorical features.")
    ] = None,
    numeric: Annotated[
        str | None, Query(description="CSV only: comma-separated numeric features.")
    ] = None,
    subject: Annotated[
        Literal["inputs", "predictions"],
        Query(
            description="inputs: the model's features; predictions: its predictions, in the "
            "columns prediction (classes, or a regression's values) and score (probabilities), "
            "which each hour of logged predictions is measured against."
        ),
    ] = "inputs",
) -> ReferencePublic:
    """Store a new reference version (earlier versions are kept): per numeric feature its
    quantile bins and a sample of at most 10,000 values, per categorical one its frequencies."""
    upload = await _upload(request)

    def store() -> ReferencePublic:
        body, columns = _columns(
            upload, model=ReferenceIn, types=_declared(categorical, numeric),
            max_values=settings.max_upload_values,
        )  # fmt: skip
        if subject == PREDICTIONS:
            prediction_drift.check_columns(columns)
        return drift.create_reference(
            session, service, columns, bins=body.bins if body else bins, actor=caller.name,
            subject=subject,
        )  # fmt: skip

    return await run_in_threadpool(store)


@router.post(
    "/batches",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_body_doc(BatchIn),
)
async def post_batch(
    service: Service,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _caller: Writer,
    timestamp: Annotated[
        Instant | None, Query(description="CSV only: when the batch was observed.")
    ] = None,
    batch_id: Annotated[
        str | None, Query(min_length=1, max_length=200, description="CSV only: idempotency key.")
    ] = None,
) -> BatchPublic:
    """Measure a production batch against the latest reference (PSI, KS, JS and null rate of
    numeric features; PSI, chi-squared, JS and null rate of categorical ones) and store one
    measurement per feature; a batch with any problem stores nothing."""
    upload = await _upload(request)

    def store() -> BatchPublic:
        types = drift.reference_types(session, service)
        body, columns = _columns(
            upload, model=BatchIn, types=types, max_values=settings.max_upload_values
        )
        return drift.ingest_batch(
            session, service, columns,
            observed_at=body.timestamp if body else timestamp,
            batch_key=body.batch_id if body else batch_id,
            now=utcnow(), layout=settings.layout,
        )  # fmt: skip

    return await run_in_threadpool(store)


@router.post("/measurements", status_code=status.HTTP_201_CREATED)
def post_measurements(
    service: Service,
    body: MeasurementsIn,
    session: SessionDep,
    settings: SettingsDep,
    _caller: Writer,
) -> MeasurementsResult:
    """Store drift measured by an external job (all or none)."""
    accepted = drift.record_measurements(
        session, service, body.measurements, now=utcnow(), layout=settings.layout
    )
    return MeasurementsResult(accepted=accepted)


@router.get("", responses=error_responses(404))
def get_drift(
    service: Service,
    session: SessionDep,
    _caller: Reader,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    feature: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    subject: Annotated[
        Literal["inputs", "predictions"],
        Query(description="inputs: the model's features; predictions: its predictions' drift."),
    ] = "inputs",
) -> DriftPublic:
    """The latest reference, each feature's newest drift (most drifted first), and the
    history newest first (``from``/``to``/``feature`` filter it), of the model's inputs or of
    its predictions."""
    return drift_views.overview(
        session, service, since=since, until=until, feature=feature, limit=limit,
        subject=subject,
    )  # fmt: skip
