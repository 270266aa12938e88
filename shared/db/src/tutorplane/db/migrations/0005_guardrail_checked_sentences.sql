-- Guardrail rates need every checked sentence in the denominator.
--
-- guardrail_events keeps only the decisions worth reading (non-allow, flagged, released unchecked),
-- so counting its rows undercounts what was checked and inflates every rate. The writer of an
-- assistant turn now records how many output sentences the guardrail decided on in that turn
-- (allowed ones included). Per session, output checks = the larger of that sum and the number of
-- audited output decisions, so sessions written before this column (NULL) still count at least
-- what the audit saw. The view keeps 0004's columns (a re-run of 0004 must not fail).

ALTER TABLE public.transcript_turns
    ADD COLUMN IF NOT EXISTS checked_sentences integer CHECK (checked_sentences >= 0);

COMMENT ON COLUMN public.transcript_turns.checked_sentences IS
    'Assistant turns: output sentences the guardrail decided on in this turn, allowed ones included '
    '(NULL when the writer did not count them).';

CREATE OR REPLACE VIEW public.analytics_guardrail_rate WITH (security_invoker = true) AS
WITH per_session AS (
    SELECT
        ls.deployment,
        ls.variant,
        g.input_checks,
        greatest(coalesce(t.checked, 0), g.output_events) AS output_checks,
        g.output_blocked,
        g.output_rewritten,
        g.input_blocked,
        g.escalated,
        g.fail_closed
    FROM public.learning_sessions ls
    CROSS JOIN LATERAL (
        SELECT
            count(*) FILTER (WHERE e.direction = 'input') AS input_checks,
            count(*) FILTER (WHERE e.direction = 'output') AS output_events,
            count(*) FILTER (WHERE e.direction = 'output' AND e.action = 'block') AS output_blocked,
            count(*) FILTER (WHERE e.direction = 'output' AND e.action = 'rewrite') AS output_rewritten,
            count(*) FILTER (WHERE e.direction = 'input' AND e.action = 'block') AS input_blocked,
            count(*) FILTER (WHERE e.action = 'escalate') AS escalated,
            count(*) FILTER (WHERE e.fail_closed) AS fail_closed
        FROM public.guardrail_events e
        WHERE e.session_id = ls.id
    ) g
    LEFT JOIN LATERAL (
        SELECT sum(tt.checked_sentences) AS checked
        FROM public.transcript_turns tt
        WHERE tt.session_id = ls.id AND tt.role = 'assistant'
    ) t ON true
),
per_variant AS (
    SELECT
        deployment,
        variant,
        count(*) AS sessions,
        sum(input_checks)::bigint AS input_checks,
        sum(output_checks)::bigint AS output_checks,
        sum(output_blocked)::bigint AS output_blocked,
        sum(output_rewritten)::bigint AS output_rewritten,
        sum(input_blocked)::bigint AS input_blocked,
        sum(escalated)::bigint AS escalated,
        sum(fail_closed)::bigint AS fail_closed
    FROM per_session
    GROUP BY deployment, variant
)
SELECT
    deployment,
    variant,
    sessions,
    input_checks,
    output_checks,
    output_blocked,
    output_rewritten,
    input_blocked,
    escalated,
    fail_closed,
    ((output_blocked + output_rewritten)::double precision / nullif(output_checks, 0)) AS rate,
    (output_blocked::double precision / nullif(sessions, 0)) AS blocked_per_session
FROM per_variant;

COMMENT ON VIEW public.analytics_guardrail_rate IS
    'output_checks = every output sentence checked (per session: the assistant turns'' '
    'checked_sentences, at least the audited output decisions). rate = output sentences blocked or '
    'rewritten / output_checks (NULL when none was checked); the block rate is output_blocked / '
    'output_checks. blocked_per_session = output_blocked / sessions. Checks without a session belong '
    'to no variant and are not counted. Same columns as in 0004, so re-running 0004 still works.';
