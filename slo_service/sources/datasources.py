"""Named datasources: the Prometheus-compatible endpoints SLIs are measured from, read once at
start-up from ``SLO_DATASOURCES_FILE`` (YAML) or, without it, ``SLO_PROMETHEUS_URL`` alone as
the ``default`` one.

The file is a mapping of names to datasources, or a list of datasources with a ``name``::

    eu-prod:
      url: https://mimir.eu.example.com/prometheus
      timeout_seconds: 5
      headers: {X-Scope-OrgID: team-ml}
      basic_auth: {username: team-ml, password_file: /run/secrets/mimir-eu}
      tls: {ca_file: /etc/ssl/internal-ca.pem}

Secrets are only ever named by file (``bearer_token_file``, ``basic_auth.password_file``; an
``Authorization`` header is refused) and read here, so that a bad file fails the start, naming
the file that cannot be read. What comes out (``Access``) keeps them out of its ``repr`` and is
what the HTTP clients send; ``Datasource`` is what may be shown. Relative paths are relative to
the datasources file.
"""

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from slo_service.domain.sli import DATASOURCE_PATTERN, DEFAULT_DATASOURCE

DEFAULT = DEFAULT_DATASOURCE
NAME_PATTERN = DATASOURCE_PATTERN
NAME_HELP = "lower-case letters, digits, '-' and '_', at most 63, e.g. eu-prod"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

AuthKind = Literal["none", "bearer", "basic", "tls-client"]


class DatasourcesFileError(Exception):
    """The datasources file is unusable: the message names the file, the datasource and the
    field (or the secret file that cannot be read)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasicAuth(_Strict):
    username: str = Field(min_length=1)
    password_file: Path


class Tls(_Strict):
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = Field(default=None, min_length=1)
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _cert_and_key(self) -> "Tls":
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together (the client certificate)")
        return self


class DatasourceSpec(_Strict):
    """One datasource as written in the file."""

    url: AnyHttpUrl
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    bearer_token_file: Path | None = None
    basic_auth: BasicAuth | None = None
    tls: Tls | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if value.username or value.password:
            raise ValueError("put no credentials in the URL: use basic_auth with a password_file")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if name.lower() == "authorization":
                raise ValueError("no Authorization header: use bearer_token_file or basic_auth")
            if "\n" in text or "\r" in text:
                raise ValueError(f"the value of {name} spans lines")
        return value

    @model_validator(mode="after")
    def _one_credential(self) -> "DatasourceSpec":
        if self.bearer_token_file is not None and self.basic_auth is not None:
            raise ValueError("give bearer_token_file or basic_auth, not both")
        return self


class _Named(DatasourceSpec):
    name: str


@dataclass(frozen=True)
class Access:
    """How a client reaches a datasource and names it: secrets stay out of the ``repr``."""

    url: str
    timeout: float
    where: str  # how messages name it: "datasource eu-prod (https://…)"
    address_setting: str  # what to check when the address is wrong
    refused_hint: str  # what to check when it answers 401 or 403
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    verify: ssl.SSLContext | bool = True
    server_name: str | None = None
    tls_hint: str = ""  # what to check when TLS fails

    @classmethod
    def plain(cls, url: str, *, timeout: float = 2.0) -> "Access":
        """``SLO_PROMETHEUS_URL`` without a datasources file: no credentials, and the messages
        of a single Prometheus."""
        return cls(
            url=url,
            timeout=timeout,
            where=f"Prometheus at {url}",
            address_setting="SLO_PROMETHEUS_URL",
            refused_hint="the server asks for credentials: give them in SLO_DATASOURCES_FILE",
        )


@dataclass(frozen=True)
class Datasource:
    """A configured datasource: what ``GET /api/v1/datasources`` shows, and its access."""

    name: str
    url: str
    auth: AuthKind
    header_names: tuple[str, ...]
    access: Access


def plain(url: str, *, timeout: float) -> dict[str, Datasource]:
    """The datasources without a file: ``url`` as the ``default`` one."""
    access = Access.plain(url, timeout=timeout)
    return {DEFAULT: Datasource(DEFAULT, url, "none", (), access)}


def load(path: Path) -> dict[str, Datasource]:
    """Parse the datasources file and read its secret files; DatasourcesFileError otherwise."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        message = f"SLO_DATASOURCES_FILE {path}: cannot read: {exc.strerror}"
        raise DatasourcesFileError(message) from None
    except yaml.YAMLError as exc:
        raise DatasourcesFileError(f"SLO_DATASOURCES_FILE {path}: not YAML: {exc}") from None
    specs = parse(document, path)
    return {name: _resolve(name, spec, path) for name, spec in specs.items()}


def parse(document: Any, path: Path) -> dict[str, DatasourceSpec]:
    """The datasources of a parsed file, by name (pure: no file is read)."""
    where = f"SLO_DATASOURCES_FILE {path}"
    entries: list[tuple[str, Any, type[DatasourceSpec]]]
    if isinstance(document, Mapping):
        entries = [(str(name), spec, DatasourceSpec) for name, spec in document.items()]
    elif isinstance(document, list):
        entries = [(_name_of(item, index), item, _Named) for index, item in enumerate(document)]
    else:
        raise DatasourcesFileError(
            f"{where}: must be a mapping of names to datasources, or a list of datasources "
            "with a 'name' each"
        )
    if not entries:
        raise DatasourcesFileError(f"{where}: lists no datasource")
    found: dict[str, DatasourceSpec] = {}
    problems: list[str] = []
    for name, spec, model in entries:
        if not re.match(NAME_PATTERN, name):
            problems.append(f"datasource {name!r}: the name must be {NAME_HELP}")
        elif name in found:
            problems.append(f"datasource {name}: listed twice")
        try:
            parsed = model.model_validate(spec)
        except ValidationError as exc:
            problems += [f"datasource {name}: {_field(e)}: {e['msg']}" for e in exc.errors()]
            continue
        found[name] = DatasourceSpec.model_validate(parsed.model_dump(exclude={"name"}))
    if problems:
        raise DatasourcesFileError(f"{where}:\n  " + "\n  ".join(problems))
    return found


def _name_of(item: Any, index: int) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    return str(name) if name is not None else f"#{index + 1} (no name)"


def _field(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(the datasource)"


def _resolve(name: str, spec: DatasourceSpec, path: Path) -> Datasource:
    """Read the secrets and certificates of ``spec``; errors name the file that failed."""
    where = f"SLO_DATASOURCES_FILE {path}: datasource {name}"
    base = path.parent

    def secret(field_name: str, file: Path) -> str:
        file = base / file
        try:
            text = file.read_text().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            message = f"{where}: {field_name} {file}: cannot read: {reason}"
            raise DatasourcesFileError(message) from None
        if not text or "\n" in text:
            raise DatasourcesFileError(f"{where}: {field_name} {file}: must hold one line")
        return text

    url = str(spec.url).rstrip("/")
    headers = dict(spec.headers)
    basic: tuple[str, str] | None = None
    auth: AuthKind = "none"
    hint = "the server asks for credentials: give the datasource bearer_token_file or basic_auth"
    if spec.bearer_token_file is not None:
        headers["Authorization"] = f"Bearer {secret('bearer_token_file', spec.bearer_token_file)}"
        auth, hint = "bearer", "check its bearer_token_file"
    elif spec.basic_auth is not None:
        password = secret("basic_auth.password_file", spec.basic_auth.password_file)
        basic = (spec.basic_auth.username, password)
        auth, hint = "basic", "check its basic_auth username and password_file"
    elif spec.tls is not None and spec.tls.cert_file is not None:
        auth, hint = "tls-client", "check its tls cert_file and key_file"
    if spec.headers:
        hint += f" and its headers ({', '.join(spec.headers)})"
    access = Access(
        url=url,
        timeout=spec.timeout_seconds,
        where=f"datasource {name} ({url})",
        address_setting=f"the url of datasource {name} in {path}",
        refused_hint=hint,
        headers=headers,
        basic_auth=basic,
        verify=_verify(spec.tls, base, where),
        server_name=spec.tls.server_name if spec.tls else None,
        tls_hint="check its tls ca_file, server_name, cert_file and key_file",
    )
    return Datasource(name, url, auth, tuple(spec.headers), access)


def _verify(tls: Tls | None, base: Path, where: str) -> ssl.SSLContext | bool:
    """The TLS context of a datasource: its CA (or the system's), its client certificate."""
    if tls is None:
        return True
    current = "tls"
    try:
        current = "tls.ca_file"
        context = ssl.create_default_context(cafile=base / tls.ca_file if tls.ca_file else None)
        if tls.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if tls.cert_file is not None and tls.key_file is not None:
            current = "tls.cert_file and tls.key_file"
            context.load_cert_chain(base / tls.cert_file, base / tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DatasourcesFileError(f"{where}: {current}: cannot be used: {reason}") from None
    return context
