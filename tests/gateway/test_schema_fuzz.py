"""Schema fuzzing of the OpenAPI spec (schemathesis): no generated input produces a server error.

Every operation gets valid (positive) and invalid (negative) inputs, signed in as a student with a
valid CSRF pair so requests reach the handlers, and anonymously. Example counts are bounded so the
module stays fast. (The schemathesis pytest loader does not run on pytest 9, so operations are
driven through Hypothesis directly.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from gateway_support import People
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from tutorplane.gateway.testing import ApiClient, GatewayProcess

pytestmark = pytest.mark.integration

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


@pytest.fixture(scope="module")
def signed_in(gateway: GatewayProcess, people: People) -> dict[str, Any]:
    _, token = people.student("Fuzz")
    client = ApiClient(gateway.url)
    client.use_token(token)
    client.create_session()
    csrf = client.csrf or ""
    client.close()
    return {
        "headers": {"Authorization": f"Bearer {token}", "X-CSRF-Token": csrf},
        "cookies": {"tutor_csrf": csrf},
    }


def fuzz(gateway: GatewayProcess, auth: dict[str, Any] | None) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/api/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():

            @settings(
                max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                kwargs: dict[str, Any] = {"checks": [not_a_server_error], "timeout": 20}
                if auth is not None:
                    kwargs["headers"] = {**(case.headers or {}), **auth["headers"]}
                    kwargs["cookies"] = auth["cookies"]
                case.call_and_validate(**kwargs)

            try:
                check()
            except Unsatisfiable:
                continue  # no parameters to make invalid (negative mode)
            except Exception as exc:
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:600]}")
    assert operations >= 20, f"only {operations} operations in the schema"
    return failures


def test_signed_in_inputs_cause_no_server_error(gateway: GatewayProcess, signed_in: dict[str, Any]) -> None:
    assert fuzz(gateway, signed_in) == []


def test_anonymous_inputs_cause_no_server_error(gateway: GatewayProcess) -> None:
    assert fuzz(gateway, None) == []
