"""Sign-in: CSRF tokens, local login for the embedded default, who-am-I, sign-out."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from tutorplane.db import repository
from tutorplane.db.records import User
from tutorplane.gateway.api.deps import (
    CsrfChecked,
    CurrentUser,
    OptionalUser,
    RateLimit,
    SettingsDep,
    StateDep,
    optional_identity,
)
from tutorplane.gateway.api.schemas import (
    CsrfTokenOut,
    DemoUserOut,
    LoginIn,
    LoginOut,
    LogoutOut,
    PublicConfigOut,
    UserOut,
    problems,
)
from tutorplane.gateway.core.config import GatewaySettings
from tutorplane.gateway.core.identity import Identity, Role, issue_token
from tutorplane.gateway.core.state import GatewayState

router = APIRouter(prefix="/api", tags=["auth"], responses=problems(429))

ERRORS = problems(401, 403, 404)


def set_csrf_cookie(response: Response, state: GatewayState, identity: Identity | None) -> tuple[str, int]:
    token, expiry = state.csrf.mint(identity)
    response.set_cookie(
        state.settings.csrf_cookie_name,
        token,
        max_age=max(1, expiry - int(time.time())),
        httponly=False,  # double submit: the page reads it and echoes it in X-CSRF-Token
        secure=state.settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    return token, expiry


@router.get("/auth/csrf", response_model=CsrfTokenOut, responses=ERRORS, summary="Mint a CSRF token")
async def csrf_token(response: Response, state: StateDep, identity: OptionalUser) -> CsrfTokenOut:
    """A token bound to the current sign-in (or to 'anonymous' before signing in), also set as a cookie."""
    response.headers["Cache-Control"] = "no-store"
    token, expiry = set_csrf_cookie(response, state, identity)
    return CsrfTokenOut(token=token, expires_at=expiry)


OPENAI_PUBLIC_BASE_URL = "https://api.openai.com/v1"


def realtime_calls_url(settings: GatewaySettings) -> str:
    """Where the browser posts its WebRTC offer for version B: the configured OpenAI base URL (the
    emulator in offline mode) + ``/realtime/calls``, so browser and gateway talk to the same API."""
    return f"{(settings.openai_base_url or OPENAI_PUBLIC_BASE_URL).rstrip('/')}/realtime/calls"


async def _caller_or_none(request: Request, state: StateDep) -> Identity | None:
    """The caller when signed in; an expired or invalid token reads as signed out (the app must start)."""
    try:
        return await optional_identity(request, state)
    except HTTPException:
        return None


@router.get("/config", response_model=PublicConfigOut, summary="What the web app needs to know at start")
async def public_config(
    response: Response, state: StateDep, caller: Annotated[Identity | None, Depends(_caller_or_none)]
) -> PublicConfigOut:
    config = state.variants.current()
    settings = state.settings
    # The answer depends on who asks (qa_override_open): never shared by a cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, Authorization"
    return PublicConfigOut(
        deployment=settings.deployment,
        revision=settings.revision,
        offline=settings.is_offline,
        local_login=settings.local_login,
        variants_enabled={
            "A": config.is_enabled("A") and settings.livekit_configured,
            "B": config.is_enabled("B") and state.realtime is not None,
        },
        livekit_url=settings.livekit_public_url,
        qa_override_open=settings.qa_override_open or (caller is not None and caller.is_staff),
        realtime_calls_url=realtime_calls_url(settings) if state.realtime is not None else None,
    )


def _matches(user: User, login: str) -> bool:
    wanted = login.strip().lower()
    name = user.display_name.lower()
    words = {w.strip(".") for w in name.split()}
    email = (user.email or "").lower()
    return wanted in (name, email, email.split("@")[0]) or wanted in words


async def _demo_users(state: GatewayState) -> list[User]:
    ids = (repository.DEMO_TEACHER_ID, *repository.DEMO_STUDENT_IDS)
    users = [await repository.get_user(state.pool, user_id) for user_id in ids]
    return [u for u in users if u is not None]


async def _require_local_login(settings: SettingsDep) -> None:
    if not settings.local_login:
        raise HTTPException(404, "local login is disabled here; sign in through Supabase Auth")


@router.get(
    "/auth/demo-users",
    response_model=list[DemoUserOut],
    responses=ERRORS,
    dependencies=[Depends(_require_local_login)],
    summary="Seeded demo users (embedded default only)",
)
async def demo_users(state: StateDep) -> list[DemoUserOut]:
    return [
        DemoUserOut(
            user_id=u.id,
            role=u.kind,
            display_name=u.display_name,
            login=u.display_name.split()[-1].strip(".").lower(),
        )
        for u in await _demo_users(state)
    ]


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses=ERRORS,
    dependencies=[Depends(_require_local_login), CsrfChecked, Depends(RateLimit("login"))],
    summary="Local sign-in as a seeded demo user (embedded default only)",
)
async def login(body: LoginIn, response: Response, state: StateDep) -> LoginOut:
    """Issues the same Supabase-shaped token a Supabase project would, for the demo users only."""
    demo = await _demo_users(state)
    if body.user_id is not None:
        chosen = [u for u in demo if u.id == body.user_id]
    else:
        assert body.login is not None
        chosen = [u for u in demo if _matches(u, body.login)]
    if len(chosen) != 1:
        names = ", ".join(u.display_name for u in demo) or "none (run the demo seed)"
        raise HTTPException(404, f"no single demo user matches; choose one of: {names}")
    user = chosen[0]
    settings = state.settings
    token, identity = issue_token(
        state.jwt_secret,
        user_id=str(user.id),
        role=Role(user.kind),
        ttl_s=settings.local_login_ttl_s,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        email=user.email,
        display_name=user.display_name,
    )
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.local_login_ttl_s,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        path="/",
    )
    csrf, _ = set_csrf_cookie(response, state, identity)
    response.headers["Cache-Control"] = "no-store"
    return LoginOut(
        user=UserOut(user_id=user.id, role=user.kind, display_name=user.display_name),
        access_token=token,
        expires_at=identity.expires_at,
        csrf_token=csrf,
    )


@router.post(
    "/auth/logout",
    response_model=LogoutOut,
    responses=ERRORS,
    dependencies=[CsrfChecked],
    summary="Sign out (clears the session and CSRF cookies)",
)
async def logout(response: Response, state: StateDep, _identity: CurrentUser) -> LogoutOut:
    settings = state.settings
    response.delete_cookie(
        settings.session_cookie_name, path="/", secure=settings.secure_cookies, httponly=True
    )
    response.delete_cookie(settings.csrf_cookie_name, path="/", secure=settings.secure_cookies)
    return LogoutOut()


@router.get(
    "/auth/me",
    response_model=UserOut,
    responses=ERRORS,
    dependencies=[Depends(RateLimit("read"))],
    summary="The signed-in user",
)
async def me(identity: CurrentUser, state: StateDep) -> UserOut:
    name = identity.display_name
    if not name:
        user = await repository.get_user(state.pool, uuid.UUID(identity.user_id))
        name = user.display_name if user is not None else ""
    return UserOut(user_id=uuid.UUID(identity.user_id), role=identity.role.value, display_name=name)
