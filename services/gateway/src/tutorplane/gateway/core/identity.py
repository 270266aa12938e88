"""Supabase-compatible access tokens: verification (every request) and issuing (local login only).

A token is HS256 over ``{sub, aud: "authenticated", role: "authenticated", exp, iat, iss?, jti,
session_id, email?, app_metadata: {role: student|teacher|admin}}`` — the shape Supabase Auth
issues, so the same verifier accepts tokens from a real Supabase project and from local login.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt


class Role(StrEnum):
    student = "student"
    teacher = "teacher"
    admin = "admin"


class AuthError(Exception):
    """The caller could not be identified; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling. ``token_id`` binds CSRF tokens to this sign-in."""

    user_id: str
    role: Role
    token_id: str
    expires_at: int
    display_name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.teacher, Role.admin)


class TokenVerifier:
    """Verifies HS256 tokens with the shared secret (and, optionally, keys from a JWKS URL)."""

    def __init__(
        self,
        secret: str,
        *,
        audience: str = "authenticated",
        issuer: str | None = None,
        jwks_url: str | None = None,
        leeway_s: int = 30,
        cache_size: int = 10_000,
    ) -> None:
        self._secret = secret
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway_s
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        # Verified tokens, so a session's many requests decode and check the signature once.
        self._verified: OrderedDict[str, Identity] = OrderedDict()
        self._cache_size = cache_size

    async def verify_async(self, token: str) -> Identity:
        """``verify`` with a cache of verified tokens (each still honoured only until its expiry), and
        the JWKS key lookup (network I/O, first use per key id) off the event loop."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at + self._leeway >= time.time():
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
        identity = await self._verify_uncached(token)
        self._verified[token] = identity
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return identity

    async def _verify_uncached(self, token: str) -> Identity:
        if self._jwks is not None:
            try:
                alg = jwt.get_unverified_header(token).get("alg")
            except jwt.PyJWTError as exc:
                raise AuthError("the access token is malformed; sign in again") from exc
            if alg != "HS256":
                return await asyncio.to_thread(self.verify, token)
        return self.verify(token)

    def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("the access token is malformed; sign in again") from exc
        alg = header.get("alg")
        options: jwt.types.Options = {"require": ["exp", "sub", "aud"]}
        try:
            if alg == "HS256":
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    leeway=self._leeway,
                    options=options,
                )
            elif self._jwks is not None and alg in ("RS256", "ES256"):
                key = self._jwks.get_signing_key_from_jwt(token)
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[alg],
                    audience=self._audience,
                    issuer=self._issuer,
                    leeway=self._leeway,
                    options=options,
                )
            else:
                raise AuthError(f"access tokens signed with {alg!r} are not accepted; sign in again")
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the access token has expired; sign in again") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"the access token is not valid ({exc}); sign in again") from exc
        return identity_from_claims(claims)


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    sub = str(claims.get("sub", ""))
    try:
        user_id = str(uuid.UUID(sub))
    except ValueError as exc:
        raise AuthError("the access token's subject is not a user id; sign in again") from exc
    app_meta = claims.get("app_metadata") or {}
    raw_role = app_meta.get("role") if isinstance(app_meta, dict) else None
    try:
        role = Role(raw_role or "student")
    except ValueError as exc:
        raise AuthError(
            f"the account role {raw_role!r} is not one of student/teacher/admin; ask an admin to fix "
            "app_metadata.role"
        ) from exc
    token_id = str(claims.get("jti") or claims.get("session_id") or f"iat:{claims.get('iat', 0)}")
    user_meta = claims.get("user_metadata") or {}
    name = user_meta.get("display_name", "") if isinstance(user_meta, dict) else ""
    return Identity(
        user_id=user_id,
        role=role,
        token_id=token_id,
        expires_at=int(claims["exp"]),
        display_name=str(name),
    )


def issue_token(
    secret: str,
    *,
    user_id: str,
    role: Role,
    ttl_s: int,
    audience: str = "authenticated",
    issuer: str | None = None,
    email: str | None = None,
    display_name: str = "",
    now: float | None = None,
) -> tuple[str, Identity]:
    """A Supabase-shaped HS256 token for a local (embedded-default) sign-in."""
    issued = int(now if now is not None else time.time())
    token_id = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "sub": user_id,
        "aud": audience,
        "role": "authenticated",
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": token_id,
        "session_id": token_id,
        "app_metadata": {"provider": "local", "role": role.value},
        "user_metadata": {"display_name": display_name},
    }
    if issuer:
        claims["iss"] = issuer
    if email:
        claims["email"] = email
    token = jwt.encode(claims, secret, algorithm="HS256")
    return token, Identity(user_id, role, token_id, issued + ttl_s, display_name)
