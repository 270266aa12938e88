"""Token verification, CSRF binding, proxy-aware client IP, LiveKit grants, CSP (pure logic)."""

from __future__ import annotations

import datetime
import json
import time
import uuid

import jwt
import pytest
from livekit.api import TokenVerifier as LiveKitVerifier
from tutorplane.gateway.core.csrf import CsrfError, CsrfSigner
from tutorplane.gateway.core.identity import AuthError, Identity, Role, TokenVerifier, issue_token
from tutorplane.gateway.middleware.client_ip import parse_networks, resolve_client_ip
from tutorplane.gateway.middleware.security_headers import build_csp
from tutorplane.gateway.services.livekit_tokens import LiveKitMinter, new_room_name

pytestmark = pytest.mark.unit

SECRET = "unit-tests-jwt-secret-6b1e0c9d8a7f-5e4d3c2b1a09"
USER = str(uuid.uuid4())


def supabase_token(**overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": USER,
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 600,
        "session_id": "s-1",
        "app_metadata": {"provider": "email", "role": "teacher"},
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, algorithm="HS256")


def test_supabase_shaped_token_is_accepted() -> None:
    identity = TokenVerifier(SECRET).verify(supabase_token())
    assert identity == Identity(USER, Role.teacher, "s-1", identity.expires_at)


def test_role_defaults_to_student_and_local_tokens_verify() -> None:
    assert TokenVerifier(SECRET).verify(supabase_token(app_metadata={})).role == Role.student
    token, issued = issue_token(SECRET, user_id=USER, role=Role.admin, ttl_s=60)
    assert TokenVerifier(SECRET).verify(token) == issued


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (supabase_token(aud="anon"), "not valid"),
        (supabase_token(exp=int(time.time()) - 3600), "expired"),
        (supabase_token(sub="not-a-uuid"), "subject"),
        (supabase_token(app_metadata={"role": "superuser"}), "student/teacher/admin"),
        (supabase_token(aud=None), "not valid"),
        (
            jwt.encode(
                {"sub": USER, "aud": "authenticated", "exp": 2**33},
                "wrong-secret-of-thirty-two-bytes-or-more",
                algorithm="HS256",
            ),
            "not valid",
        ),
        (jwt.encode({"sub": USER, "aud": "authenticated", "exp": 2**33}, None, algorithm="none"), "'none'"),
        ("garbage", "malformed"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token: str, message: str) -> None:
    with pytest.raises(AuthError, match=message):
        TokenVerifier(SECRET).verify(token)


async def test_verified_tokens_are_cached_only_until_they_expire() -> None:
    verifier = TokenVerifier(SECRET, cache_size=2)
    token, issued = issue_token(SECRET, user_id=USER, role=Role.student, ttl_s=600)
    assert await verifier.verify_async(token) == issued
    verifier._verified[token] = Identity(USER, Role.admin, "stale", expires_at=0)  # an expired entry
    assert (await verifier.verify_async(token)).role == Role.student  # checked again, not trusted
    with pytest.raises(AuthError):
        await verifier.verify_async(token[:-2] + "xx")
    for _ in range(3):
        other, _ = issue_token(SECRET, user_id=USER, role=Role.student, ttl_s=600)
        await verifier.verify_async(other)
    assert len(verifier._verified) == 2


def test_issuer_is_enforced_when_configured() -> None:
    with pytest.raises(AuthError):
        TokenVerifier(SECRET, issuer="https://auth.school.test").verify(supabase_token())
    assert TokenVerifier(SECRET, issuer="https://auth.school.test").verify(
        supabase_token(iss="https://auth.school.test")
    )


def identity(token_id: str = "t1", user: str = USER, expires_in: int = 3600) -> Identity:
    return Identity(user, Role.student, token_id, int(time.time()) + expires_in)


def test_csrf_token_verifies_for_its_own_sign_in_only() -> None:
    signer = CsrfSigner(b"csrf-secret-0123456789abcdef0123456789", ttl_s=600)
    me = identity()
    token, expiry = signer.mint(me)
    signer.verify(token, token, me)
    assert expiry <= me.expires_at
    with pytest.raises(CsrfError, match="another sign-in"):
        signer.verify(token, token, identity(token_id="t2"))
    with pytest.raises(CsrfError, match="another sign-in"):
        signer.verify(token, token, identity(user=str(uuid.uuid4())))
    with pytest.raises(CsrfError, match="another sign-in"):
        signer.verify(token, token, None)
    with pytest.raises(CsrfError, match="another sign-in"):
        CsrfSigner(b"other-secret-0123456789abcdef012345678", ttl_s=600).verify(token, token, me)


def test_csrf_needs_header_and_matching_cookie_and_expires() -> None:
    signer = CsrfSigner(b"csrf-secret-0123456789abcdef0123456789", ttl_s=60)
    anon_token, _ = signer.mint(None)
    signer.verify(anon_token, anon_token, None)
    with pytest.raises(CsrfError, match="missing X-CSRF-Token"):
        signer.verify(None, anon_token, None)
    with pytest.raises(CsrfError, match="missing CSRF cookie"):
        signer.verify(anon_token, None, None)
    other, _ = signer.mint(None)
    with pytest.raises(CsrfError, match="does not match"):
        signer.verify(anon_token, other, None)
    with pytest.raises(CsrfError, match="malformed"):
        signer.verify("x", "x", None)
    with pytest.raises(CsrfError, match="expired"):
        signer.verify(anon_token, anon_token, None, now=time.time() + 120)


def test_csrf_expiry_never_outlives_the_sign_in() -> None:
    signer = CsrfSigner(b"s", ttl_s=3600)
    _, expiry = signer.mint(identity(expires_in=30))
    assert expiry <= time.time() + 31


TRUSTED = parse_networks(["10.0.0.0/8", "127.0.0.1/32"])


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # untrusted peer: header ignored (spoofing)
        ("10.1.2.3", "198.51.100.7", "198.51.100.7"),
        ("10.1.2.3", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # left-most hop is client-controlled
        ("10.1.2.3", "198.51.100.7, 10.9.9.9", "198.51.100.7"),  # skip trusted hops from the right
        ("10.1.2.3", "junk", "10.1.2.3"),
    ],
)
def test_client_ip_trusts_forwarded_for_only_from_trusted_proxies(
    peer: str, xff: str | None, expected: str
) -> None:
    assert resolve_client_ip(peer, xff, TRUSTED) == expected


def test_student_livekit_token_joins_one_room_with_explicit_dispatch_and_no_admin() -> None:
    minter = LiveKitMinter("wss://lk.test", "APIkey", "lk-secret-" + "x" * 24, datetime.timedelta(hours=1))
    room = new_room_name()
    token = minter.student_token(
        room=room,
        student_id=USER,
        display_name="Alex",
        agent_name="pool-a-r2",
        session_id="s1",
        revision="r2",
    )
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["sub"] == USER and raw["iss"] == "APIkey"
    assert raw["video"]["roomJoin"] is True and raw["video"]["room"] == room
    assert not raw["video"].get("roomAdmin") and not raw["video"].get("roomCreate")
    dispatch = raw["roomConfig"]["agents"][0]
    assert dispatch["agentName"] == "pool-a-r2"
    assert json.loads(dispatch["metadata"]) == {
        "v": 1,
        "kind": "start",
        "session_id": "s1",
        "student_id": USER,
    }
    claims = LiveKitVerifier("APIkey", "lk-secret-" + "x" * 24).verify(token)
    assert claims.video is not None and claims.video.room == room


def test_teacher_livekit_token_never_grants_admin() -> None:
    minter = LiveKitMinter("wss://lk.test", "APIkey", "lk-secret-" + "x" * 24, datetime.timedelta(hours=1))
    raw = jwt.decode(
        minter.teacher_token(room="tutor-x", teacher_id=USER, display_name="Ms R", session_id="s1"),
        options={"verify_signature": False},
    )
    assert raw["video"]["room"] == "tutor-x" and raw["video"]["roomJoin"] is True
    assert raw["video"]["canSubscribe"] is True and raw["video"]["canPublishData"] is True
    assert not any(raw["video"].get(k) for k in ("roomAdmin", "roomCreate", "roomList", "roomRecord"))
    assert "roomConfig" not in raw


def test_room_names_are_unique_and_unguessable() -> None:
    names = {new_room_name() for _ in range(1000)}
    assert len(names) == 1000
    assert all(uuid.UUID(n.removeprefix("tutor-")).version == 4 for n in names)


def test_csp_allows_self_and_the_configured_media_endpoints_only() -> None:
    csp = build_csp(["wss://lk.school.test", "https://api.openai.com/v1", "not a url"])
    assert "frame-ancestors 'none'" in csp
    assert "connect-src 'self' wss://lk.school.test https://api.openai.com" in csp
    assert "script-src 'self';" in csp
