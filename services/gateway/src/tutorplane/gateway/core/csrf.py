"""Double-submit CSRF tokens bound to the sign-in they were minted for.

Token = ``<expiry>.<nonce>.<hex HMAC-SHA256(secret, "<binding>|<nonce>|<expiry>")>`` where the
binding is ``<user id>|<token id>`` of the auth session (or ``anon`` before sign-in). The token is
set as a readable cookie and must come back in the ``X-CSRF-Token`` header: a cross-site page can
make the browser send the cookie but can neither read it nor set the header. A token minted for one
sign-in does not verify for another user or a later sign-in, and expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from tutorplane.gateway.core.identity import Identity

CSRF_HEADER = "x-csrf-token"
ANONYMOUS = "anon"


class CsrfError(Exception):
    """The CSRF check failed; the message tells the client what to do."""


def binding_of(identity: Identity | None) -> str:
    return ANONYMOUS if identity is None else f"{identity.user_id}|{identity.token_id}"


class CsrfSigner:
    def __init__(self, secret: bytes, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def mint(self, identity: Identity | None, *, now: float | None = None) -> tuple[str, int]:
        """A fresh token and its expiry (never beyond the auth token's own expiry)."""
        issued = int(now if now is not None else time.time())
        expiry = issued + self._ttl_s
        if identity is not None:
            expiry = min(expiry, identity.expires_at)
        nonce = secrets.token_hex(8)
        return f"{expiry}.{nonce}.{self._mac(binding_of(identity), nonce, expiry)}", expiry

    def verify(
        self,
        header: str | None,
        cookie: str | None,
        identity: Identity | None,
        *,
        now: float | None = None,
    ) -> None:
        if not header:
            raise CsrfError("missing X-CSRF-Token header; fetch GET /api/auth/csrf and send its token")
        if not cookie:
            raise CsrfError("missing CSRF cookie; fetch GET /api/auth/csrf (cookies must be enabled)")
        if not hmac.compare_digest(header.encode(), cookie.encode()):
            raise CsrfError("X-CSRF-Token does not match the CSRF cookie; fetch a new token")
        parts = header.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            raise CsrfError("malformed CSRF token; fetch a new one from GET /api/auth/csrf")
        expiry_s, nonce, mac = parts
        expiry = int(expiry_s)
        expected = self._mac(binding_of(identity), nonce, expiry)
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            raise CsrfError("CSRF token belongs to another sign-in; fetch a new one from GET /api/auth/csrf")
        if (now if now is not None else time.time()) > expiry:
            raise CsrfError("CSRF token expired; fetch a new one from GET /api/auth/csrf")

    def _mac(self, binding: str, nonce: str, expiry: int) -> str:
        return hmac.new(self._secret, f"{binding}|{nonce}|{expiry}".encode(), hashlib.sha256).hexdigest()
