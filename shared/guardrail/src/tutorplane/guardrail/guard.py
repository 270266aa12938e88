"""``Guardrail``: the one object a gateway or agent holds — output streams and input checks.

guard = Guardrail(HttpGuardrailClient(url, policy=policy), audit=audit_writer, on_event=emit)
decision = await guard.check_input(student_text, context=ctx)
async with guard.stream(llm_deltas, context=ctx) as sentences:
    async for sentence in sentences:
        await speak(sentence.text)
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from tutorplane.guardrail.audit import AuditSink
from tutorplane.guardrail.checker import GuardrailChecker, LocalChecker
from tutorplane.guardrail.decision import CheckContext, Decision
from tutorplane.guardrail.http_client import HttpGuardrailClient
from tutorplane.guardrail.openai_moderation import DEFAULT_MODEL, OpenAIModeration
from tutorplane.guardrail.pipeline import EventHook, GuardedStream, PipelineConfig, check_input
from tutorplane.guardrail.policy import GuardrailPolicy
from tutorplane.guardrail.rewrite import DEFAULT_REWRITE_MODEL, OpenAIRewriter


class Guardrail:
    def __init__(
        self,
        checker: GuardrailChecker,
        *,
        config: PipelineConfig | None = None,
        audit: AuditSink | None = None,
        on_event: EventHook | None = None,
        hash_key: bytes | None = None,
    ) -> None:
        self.checker = checker
        self.config = config or PipelineConfig()
        self.audit = audit
        self.on_event = on_event
        self.hash_key = hash_key

    @property
    def policy(self) -> GuardrailPolicy:
        return self.checker.policy

    def stream(
        self,
        deltas: AsyncIterable[str],
        *,
        context: CheckContext | None = None,
        on_event: EventHook | None = None,
    ) -> GuardedStream:
        return GuardedStream(
            deltas,
            self.checker,
            context=context,
            config=self.config,
            audit=self.audit,
            on_event=on_event or self.on_event,
            hash_key=self.hash_key,
        )

    async def check_input(
        self, text: str, *, context: CheckContext | None = None, on_event: EventHook | None = None
    ) -> Decision:
        return await check_input(
            text,
            self.checker,
            context=context,
            audit=self.audit,
            on_event=on_event or self.on_event,
            hash_key=self.hash_key,
            timeout_s=self.config.check_timeout_s,
        )

    async def aclose(self) -> None:
        await self.checker.aclose()


def build_checker(
    *,
    policy: GuardrailPolicy,
    service_url: str | None = None,
    service_timeout_s: float = 3.0,
    openai_api_key: str | None = None,
    openai_base_url: str | None = None,
    moderation_model: str = DEFAULT_MODEL,
    rewrite_model: str | None = DEFAULT_REWRITE_MODEL,
    moderation_timeout_s: float = 1.0,
    rewrite_timeout_s: float = 3.0,
) -> GuardrailChecker:
    """The guardrail service over HTTP when ``service_url`` is set, else moderation in-process."""
    if service_url:
        return HttpGuardrailClient(service_url, policy=policy, timeout_s=service_timeout_s)
    import openai

    if not openai_api_key:
        raise ValueError(
            "the in-process guardrail needs TUTOR_OPENAI_API_KEY (or TUTOR_OPENAI_BASE_URL pointing at the "
            "local emulator with any key), or a guardrail service URL"
        )
    client = openai.AsyncOpenAI(
        api_key=openai_api_key,
        base_url=openai_base_url,
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(),
    )
    # The moderation client owns the shared SDK client (closes it); the rewriter borrows it.
    moderation = OpenAIModeration(
        client=client, model=moderation_model, timeout_s=moderation_timeout_s, owns_client=True
    )
    rewriter = (
        OpenAIRewriter(client=client, model=rewrite_model, timeout_s=rewrite_timeout_s)
        if rewrite_model
        else None
    )
    return LocalChecker(
        moderation,
        policy,
        rewriter=rewriter,
        moderation_timeout_s=moderation_timeout_s,
        rewrite_timeout_s=rewrite_timeout_s,
    )
