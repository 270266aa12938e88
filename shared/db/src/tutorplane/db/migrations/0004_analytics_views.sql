-- Per-variant analytics for the A/B comparison and rollout analysis.
--
-- Views run with the privileges and RLS of the caller (security_invoker), so they never widen
-- what a role can see. Every view is keyed by (deployment, variant): rollout analysis compares the
-- variants of one TutorDeployment. Rates are double precision in [0, 1].

CREATE OR REPLACE VIEW public.analytics_subject_mix WITH (security_invoker = true) AS
SELECT
    ls.deployment,
    ls.variant,
    rd.subject,
    count(*) AS decisions,
    (count(*)::double precision / sum(count(*)) OVER (PARTITION BY ls.deployment, ls.variant)) AS share
FROM public.routing_decisions rd
JOIN public.learning_sessions ls ON ls.id = rd.session_id
GROUP BY ls.deployment, ls.variant, rd.subject;

COMMENT ON VIEW public.analytics_subject_mix IS
    'Routing decisions per subject. share = decisions / all routing decisions of the same deployment '
    'and variant (shares of one variant sum to 1).';

CREATE OR REPLACE VIEW public.analytics_escalation_rate WITH (security_invoker = true) AS
SELECT
    ls.deployment,
    ls.variant,
    count(*) AS sessions,
    count(*) FILTER (WHERE e.escalations > 0) AS escalated_sessions,
    coalesce(sum(e.escalations), 0)::bigint AS escalations,
    (count(*) FILTER (WHERE e.escalations > 0))::double precision / count(*) AS rate
FROM public.learning_sessions ls
LEFT JOIN LATERAL (
    SELECT count(*) AS escalations FROM public.escalation_events ev WHERE ev.session_id = ls.id
) e ON true
GROUP BY ls.deployment, ls.variant;

COMMENT ON VIEW public.analytics_escalation_rate IS
    'rate = sessions with at least one escalation / all sessions of the deployment and variant '
    '(per session, not per turn). escalations counts every escalation row.';

CREATE OR REPLACE VIEW public.analytics_guardrail_rate WITH (security_invoker = true) AS
WITH per_variant AS (
    SELECT
        ls.deployment,
        ls.variant,
        count(DISTINCT ls.id) AS sessions,
        count(g.id) FILTER (WHERE g.direction = 'input') AS input_checks,
        count(g.id) FILTER (WHERE g.direction = 'output') AS output_checks,
        count(g.id) FILTER (WHERE g.direction = 'output' AND g.action = 'block') AS output_blocked,
        count(g.id) FILTER (WHERE g.direction = 'output' AND g.action = 'rewrite') AS output_rewritten,
        count(g.id) FILTER (WHERE g.direction = 'input' AND g.action = 'block') AS input_blocked,
        count(g.id) FILTER (WHERE g.action = 'escalate') AS escalated,
        count(g.id) FILTER (WHERE g.fail_closed) AS fail_closed
    FROM public.learning_sessions ls
    LEFT JOIN public.guardrail_events g ON g.session_id = ls.id
    GROUP BY ls.deployment, ls.variant
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
    'rate = output sentences blocked or rewritten / output sentences checked (per checked output '
    'sentence, NULL when none was checked). blocked_per_session = output_blocked / sessions. '
    'Checks without a session (session_id NULL) belong to no variant and are not counted.';

REVOKE ALL ON public.analytics_subject_mix, public.analytics_escalation_rate, public.analytics_guardrail_rate
FROM PUBLIC, anon, authenticated;
GRANT SELECT ON public.analytics_subject_mix, public.analytics_escalation_rate, public.analytics_guardrail_rate
TO service_role;
