"""Forms that browsers post to the pages (sign-in, sign-out): refused from other sites.

Two checks, each enough on its own in today's browsers: the ``Origin`` (or ``Referer``) of the
post must be this site's, and the sign-in form carries a CSRF token that must match a cookie
only this site sets (double submit: another site can make a browser post a form, but cannot
read or set this site's cookie, so it cannot put the cookie's value in the form).
"""

import hmac
import re
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from slo_service.config import Settings
from slo_service.errors import Forbidden

CSRF_COOKIE = "slo_csrf"
_CSRF_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    """This browser's CSRF token, kept (so that two open forms both work), or a new one."""
    kept = request.cookies.get(CSRF_COOKIE, "")
    return kept if _CSRF_SHAPE.fullmatch(kept) else secrets.token_urlsafe(32)


def csrf_matches(request: Request, sent: str) -> bool:
    kept = request.cookies.get(CSRF_COOKIE, "")
    return bool(kept) and hmac.compare_digest(kept.encode(), sent.encode())


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a URL, default ports filled in; None for ``null`` or junk."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def refuse_other_sites(request: Request, settings: Settings) -> None:
    """Forbidden when the form was posted from another site (a login CSRF would sign the
    reader in as someone else): its origin must be SLO_PUBLIC_BASE_URL's or the request's own
    (its Host). Browsers send Origin with every POST, older ones at least a Referer; a post
    with neither is not a browser's, so it carries nobody's cookies, and it still needs the
    form's CSRF token to sign in: let through."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is None:
        return
    ours = {origin(str(settings.public_base_url)), origin(str(request.base_url))}
    found = origin(sent)
    if found is None or found not in ours:
        raise Forbidden(
            "this form was posted from another site; sign in on this site's /login page"
        )


def secure(request: Request) -> bool:
    """Cookies set over HTTPS are sent back over HTTPS only (behind a proxy, uvicorn's proxy
    headers tell the scheme)."""
    return request.url.scheme == "https"
