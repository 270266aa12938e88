"""Typed dependencies: state, identity (JWT from cookie or Bearer), roles, CSRF and rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.core.csrf import CSRF_HEADER, CsrfError
from tutorplane.gateway.core.identity import AuthError, Identity, Role
from tutorplane.gateway.core.state import GatewayState
from tutorplane.gateway.services.rate_limit import RateDecision


async def get_state(request: Request) -> GatewayState:
    state: GatewayState | None = getattr(request.app.state, "gw", None)
    if state is None:
        raise HTTPException(503, "the gateway is starting; retry in a moment")
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]


async def get_settings(state: StateDep) -> GatewaySettings:
    return state.settings


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]


def _token_from(request: Request, cookie_name: str) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.cookies.get(cookie_name) or None


async def optional_identity(request: Request, state: StateDep) -> Identity | None:
    """The caller when a token is present and valid; None when there is no token at all."""
    cached = request.scope.get("tutor.identity", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    token = _token_from(request, state.settings.session_cookie_name)
    identity: Identity | None = None
    if token is not None:
        try:
            identity = await state.verifier.verify_async(token)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
    request.scope["tutor.identity"] = identity
    return identity


OptionalUser = Annotated[Identity | None, Depends(optional_identity)]


async def require_identity(identity: OptionalUser) -> Identity:
    if identity is None:
        raise HTTPException(
            401,
            "sign in first (session cookie or Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


CurrentUser = Annotated[Identity, Depends(require_identity)]


async def require_student(identity: CurrentUser) -> Identity:
    if identity.role != Role.student:
        raise HTTPException(403, "only students can do this; sign in with a student account")
    return identity


async def require_staff(identity: CurrentUser) -> Identity:
    if not identity.is_staff:
        raise HTTPException(403, "only teachers and admins can do this")
    return identity


StudentUser = Annotated[Identity, Depends(require_student)]
StaffUser = Annotated[Identity, Depends(require_staff)]


async def verify_csrf(request: Request, state: StateDep, identity: OptionalUser) -> None:
    """Double-submit check bound to the caller's sign-in (or to 'anonymous' before sign-in)."""
    try:
        state.csrf.verify(
            request.headers.get(CSRF_HEADER),
            request.cookies.get(state.settings.csrf_cookie_name),
            identity,
        )
    except CsrfError as exc:
        raise HTTPException(403, f"CSRF check failed: {exc}") from exc


CsrfChecked = Depends(verify_csrf)


def client_ip(request: Request) -> str:
    state = request.scope.get("state") or {}
    ip = state.get("client_ip")
    if ip:
        return str(ip)
    return request.client.host if request.client else "unknown"


class RateLimit:
    """``Depends(RateLimit("turn"))``: per route group, per user (or per client IP before sign-in)."""

    def __init__(self, group: str) -> None:
        self.group = group

    async def check(self, request: Request, state: GatewayState, identity: Identity | None) -> RateDecision:
        limit = state.settings.rate_limit(self.group)
        subject = f"u:{identity.user_id}" if identity is not None else f"ip:{client_ip(request)}"
        return await state.limiter.hit(self.group, subject, limit)

    async def __call__(self, request: Request, state: StateDep, identity: OptionalUser) -> None:
        decision = await self.check(request, state, identity)
        if not decision.allowed:
            raise HTTPException(
                429,
                f"too many requests to {self.group}: at most {decision.limit} per "
                f"{state.settings.rate_limit_window_s}s; retry in {decision.retry_after_s}s",
                headers={"Retry-After": str(decision.retry_after_s)},
            )
