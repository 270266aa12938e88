"""Reports computed by the database: the per-session report and the per-variant A/B aggregates."""

from __future__ import annotations

# $1 session id, $2 the end time the report describes (NULL: the session's end, else now()).
# One statement, so the figures are consistent with each other.
SESSION_REPORT_SQL = """
SELECT jsonb_build_object(
    'report_source', 'server',
    'session_id', s.id,
    'student_id', s.student_id,
    'deployment', s.deployment,
    'variant', s.variant,
    'revision', s.revision,
    'started_at', s.started_at,
    'ended_at', e.ended_at,
    'duration_s', round(extract(epoch FROM e.ended_at - s.started_at)::numeric, 3),
    'turns', (
        SELECT jsonb_build_object(
            'total', count(*),
            'student', count(*) FILTER (WHERE t.role = 'user'),
            'assistant', count(*) FILTER (WHERE t.role = 'assistant'),
            'teacher', count(*) FILTER (WHERE t.speaker = 'teacher'),
            'latency_p50_ms', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY t.latency_ms)
                FILTER (WHERE t.role = 'assistant'))::numeric, 1),
            'latency_p95_ms', round((percentile_cont(0.95) WITHIN GROUP (ORDER BY t.latency_ms)
                FILTER (WHERE t.role = 'assistant'))::numeric, 1)
        )
        FROM public.transcript_turns t WHERE t.session_id = s.id
    ),
    'subjects', coalesce((
        SELECT jsonb_object_agg(x.subject, x.n ORDER BY x.subject)
        FROM (
            SELECT rd.subject, count(*) AS n FROM public.routing_decisions rd
            WHERE rd.session_id = s.id GROUP BY rd.subject
        ) x
    ), '{}'::jsonb),
    'routing', (
        SELECT jsonb_build_object(
            'decisions', count(*),
            'two_stage', count(*) FILTER (WHERE rd.strategy = 'two_stage'),
            'function_tools', count(*) FILTER (WHERE rd.strategy = 'function_tools'),
            'local', count(*) FILTER (WHERE rd.stage = 'local'),
            'llm', count(*) FILTER (WHERE rd.stage = 'llm'),
            'tool', count(*) FILTER (WHERE rd.stage = 'tool'),
            'mean_confidence', round(avg(rd.confidence)::numeric, 3),
            'latency_p50_ms', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY rd.latency_ms))::numeric, 1)
        )
        FROM public.routing_decisions rd WHERE rd.session_id = s.id
    ),
    'escalated', EXISTS (SELECT 1 FROM public.escalation_events e WHERE e.session_id = s.id),
    'escalations', (SELECT count(*) FROM public.escalation_events e WHERE e.session_id = s.id),
    'guardrail', (
        -- Allowed sentences and messages leave no event, so the checks are counted from the
        -- transcript too: every student message is checked before anything answers it, and each
        -- tutor turn records how many sentences it had checked.
        SELECT jsonb_build_object(
            'checks', c.input_checks + c.output_checks,
            'input_checks', c.input_checks,
            'output_checks', c.output_checks,
            'allowed', c.input_checks + c.output_checks - c.rewritten - c.blocked - c.escalated,
            'rewritten', c.rewritten,
            'blocked', c.blocked,
            'escalated', c.escalated,
            'fail_closed', c.fail_closed
        )
        FROM (
            SELECT
                greatest(count(*) FILTER (WHERE g.direction = 'input'), (
                    SELECT count(*) FROM public.transcript_turns tt
                    WHERE tt.session_id = s.id AND tt.role = 'user')) AS input_checks,
                greatest(count(*) FILTER (WHERE g.direction = 'output'), (
                    SELECT coalesce(sum(tt.checked_sentences), 0) FROM public.transcript_turns tt
                    WHERE tt.session_id = s.id AND tt.role = 'assistant')) AS output_checks,
                count(*) FILTER (WHERE g.action = 'rewrite') AS rewritten,
                count(*) FILTER (WHERE g.action = 'block') AS blocked,
                count(*) FILTER (WHERE g.action = 'escalate') AS escalated,
                count(*) FILTER (WHERE g.fail_closed) AS fail_closed
            FROM public.guardrail_events g WHERE g.session_id = s.id
        ) c
    ),
    'usage', (
        SELECT jsonb_build_object(
            'calls', coalesce(sum(u.calls), 0),
            'input_tokens', coalesce(sum(u.input_tokens), 0),
            'output_tokens', coalesce(sum(u.output_tokens), 0),
            'audio_seconds', coalesce(round(sum(u.audio_seconds)::numeric, 3), 0),
            'by_model', coalesce(jsonb_agg(jsonb_build_object(
                'provider', u.provider, 'model', u.model, 'kind', u.kind, 'calls', u.calls,
                'input_tokens', u.input_tokens, 'output_tokens', u.output_tokens,
                'audio_seconds', round(u.audio_seconds::numeric, 3)
            ) ORDER BY u.provider, u.model, u.kind), '[]'::jsonb)
        )
        FROM (
            SELECT pu.provider, pu.model, pu.kind, count(*) AS calls,
                   sum(pu.input_tokens) AS input_tokens, sum(pu.output_tokens) AS output_tokens,
                   sum(pu.audio_seconds::double precision) AS audio_seconds
            FROM public.provider_usage pu WHERE pu.session_id = s.id
            GROUP BY pu.provider, pu.model, pu.kind
        ) u
    )
)
FROM public.learning_sessions s
CROSS JOIN LATERAL (
    SELECT greatest(s.started_at, coalesce($2::timestamptz, s.ended_at, now())) AS ended_at
) e
WHERE s.id = $1
"""

# $1 deployment or NULL for all, $2 earliest started_at or NULL.
VARIANT_REPORT_SQL = """
WITH s AS (
    SELECT id, deployment, variant, started_at, ended_at
    FROM public.learning_sessions
    WHERE ($1::text IS NULL OR deployment = $1::text)
      AND ($2::timestamptz IS NULL OR started_at >= $2::timestamptz)
),
base AS (
    SELECT deployment, variant,
           count(*) AS sessions,
           count(*) FILTER (WHERE ended_at IS NOT NULL) AS completed_sessions,
           avg(extract(epoch FROM ended_at - started_at))::double precision AS mean_duration_s
    FROM s GROUP BY deployment, variant
),
turns AS (
    SELECT s.deployment, s.variant,
           count(*) FILTER (WHERE t.role = 'assistant') AS assistant_turns,
           count(t.latency_ms) FILTER (WHERE t.role = 'assistant') AS latency_samples,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY t.latency_ms)
               FILTER (WHERE t.role = 'assistant') AS latency_p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY t.latency_ms)
               FILTER (WHERE t.role = 'assistant') AS latency_p95_ms
    FROM s JOIN public.transcript_turns t ON t.session_id = s.id
    GROUP BY s.deployment, s.variant
),
usage AS (
    SELECT s.deployment, s.variant,
           sum(u.input_tokens) AS input_tokens,
           sum(u.output_tokens) AS output_tokens,
           sum(u.audio_seconds::double precision) AS audio_seconds
    FROM s JOIN public.provider_usage u ON u.session_id = s.id
    GROUP BY s.deployment, s.variant
),
esc AS (
    SELECT s.deployment, s.variant,
           count(DISTINCT e.session_id) AS escalated_sessions,
           count(*) AS escalations
    FROM s JOIN public.escalation_events e ON e.session_id = s.id
    GROUP BY s.deployment, s.variant
),
-- Output checks per session: every sentence the guardrail decided on (assistant turns'
-- checked_sentences), at least the audited decisions (the audit keeps only non-allow ones).
guard AS (
    SELECT s.deployment, s.variant,
           sum(greatest(coalesce(t.checked, 0), g.output_events))::bigint AS output_checks,
           sum(g.blocks)::bigint AS blocks,
           sum(g.rewrites)::bigint AS rewrites
    FROM s
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE ge.direction = 'output') AS output_events,
               count(*) FILTER (WHERE ge.direction = 'output' AND ge.action = 'block') AS blocks,
               count(*) FILTER (WHERE ge.direction = 'output' AND ge.action = 'rewrite') AS rewrites
        FROM public.guardrail_events ge WHERE ge.session_id = s.id
    ) g
    LEFT JOIN LATERAL (
        SELECT sum(tt.checked_sentences) AS checked
        FROM public.transcript_turns tt WHERE tt.session_id = s.id AND tt.role = 'assistant'
    ) t ON true
    GROUP BY s.deployment, s.variant
)
SELECT
    base.deployment,
    base.variant,
    base.sessions,
    base.completed_sessions,
    base.mean_duration_s,
    coalesce(turns.assistant_turns, 0) AS assistant_turns,
    coalesce(turns.latency_samples, 0) AS latency_samples,
    turns.latency_p50_ms,
    turns.latency_p95_ms,
    coalesce(usage.input_tokens, 0)::bigint AS input_tokens,
    coalesce(usage.output_tokens, 0)::bigint AS output_tokens,
    coalesce(usage.audio_seconds, 0)::double precision AS audio_seconds,
    coalesce(esc.escalated_sessions, 0) AS escalated_sessions,
    coalesce(esc.escalations, 0) AS escalations,
    coalesce(esc.escalated_sessions, 0)::double precision / base.sessions AS escalation_rate,
    coalesce(guard.output_checks, 0) AS guardrail_output_checks,
    coalesce(guard.blocks, 0) AS guardrail_blocks,
    coalesce(guard.rewrites, 0) AS guardrail_rewrites,
    guard.blocks::double precision / nullif(guard.output_checks, 0) AS guardrail_block_rate
FROM base
LEFT JOIN turns USING (deployment, variant)
LEFT JOIN usage USING (deployment, variant)
LEFT JOIN esc USING (deployment, variant)
LEFT JOIN guard USING (deployment, variant)
ORDER BY base.deployment, base.variant
"""
