-- Schema v1: Supabase-style roles and auth helpers, users/classes, sessions and their audit tables.
--
-- Every statement is idempotent: Supabase images pre-create the roles, the auth schema and
-- auth.uid()/auth.jwt(); those are created here only when missing and never replaced.
-- Applied migrations are immutable (checksummed); change the schema in a new file.

-- ---------------------------------------------------------------------------------------------
-- Roles. NOLOGIN: services log in as their own role and are granted one of these.
-- Cluster-wide objects: another database of the same cluster may be creating them concurrently.
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        BEGIN
            CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Supabase-compatible auth helpers reading the PostgREST/Supabase GUC `request.jwt.claims`.
-- ---------------------------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS auth;

DO $$
BEGIN
    IF to_regprocedure('auth.jwt()') IS NULL THEN
        CREATE FUNCTION auth.jwt() RETURNS jsonb
        LANGUAGE sql STABLE
        AS $f$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $f$;
        COMMENT ON FUNCTION auth.jwt() IS 'Claims of the request JWT (request.jwt.claims), NULL without a JWT.';
    END IF;
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $f$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
            )::uuid
        $f$;
        COMMENT ON FUNCTION auth.uid() IS 'The JWT subject (teacher or student id), NULL without a JWT.';
    END IF;
END
$$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

-- Private helpers (RLS predicates, triggers). Not exposed through a Supabase API schema.
CREATE SCHEMA IF NOT EXISTS tutorplane;
REVOKE ALL ON SCHEMA tutorplane FROM PUBLIC;
COMMENT ON SCHEMA tutorplane IS 'Tutorplane helper functions for row-level security and triggers.';

-- ---------------------------------------------------------------------------------------------
-- People and classes. App user id == teacher/student id == JWT `sub`.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.classes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (btrim(name) <> ''),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.teachers (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    display_name  text NOT NULL CHECK (btrim(display_name) <> ''),
    email         text NOT NULL UNIQUE CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND email = lower(email)),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.students (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    display_name  text NOT NULL CHECK (btrim(display_name) <> ''),
    class_id      uuid NOT NULL REFERENCES public.classes (id) ON DELETE RESTRICT,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS students_class_id_idx ON public.students (class_id);

CREATE TABLE IF NOT EXISTS public.class_teachers (
    class_id    uuid NOT NULL REFERENCES public.classes (id) ON DELETE CASCADE,
    teacher_id  uuid NOT NULL REFERENCES public.teachers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class_id, teacher_id)
);
CREATE INDEX IF NOT EXISTS class_teachers_teacher_id_idx ON public.class_teachers (teacher_id);

-- ---------------------------------------------------------------------------------------------
-- Sessions. Deleting a student erases their sessions and everything recorded in them.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.learning_sessions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    student_id         uuid NOT NULL REFERENCES public.students (id) ON DELETE CASCADE,
    deployment         text NOT NULL CHECK (btrim(deployment) <> ''),
    variant            text NOT NULL CHECK (variant IN ('A', 'B')),
    revision           text NOT NULL DEFAULT '',
    room_name          text UNIQUE CHECK (room_name IS NULL OR btrim(room_name) <> ''),
    assignment_reason  text NOT NULL DEFAULT 'weighted' CHECK (assignment_reason IN ('weighted', 'override')),
    started_at         timestamptz NOT NULL DEFAULT now(),
    ended_at           timestamptz CHECK (ended_at >= started_at),
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    session_report     jsonb CHECK (session_report IS NULL OR jsonb_typeof(session_report) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Target of escalation_events' (session_id, student_id) key: an escalation names the session's own student.
    UNIQUE (id, student_id)
);
CREATE INDEX IF NOT EXISTS learning_sessions_student_started_idx
    ON public.learning_sessions (student_id, started_at DESC);
CREATE INDEX IF NOT EXISTS learning_sessions_deployment_variant_idx
    ON public.learning_sessions (deployment, variant, started_at);
CREATE INDEX IF NOT EXISTS learning_sessions_created_at_idx ON public.learning_sessions (created_at);
CREATE INDEX IF NOT EXISTS learning_sessions_metadata_gin
    ON public.learning_sessions USING gin (metadata jsonb_path_ops);
CREATE INDEX IF NOT EXISTS learning_sessions_report_gin
    ON public.learning_sessions USING gin (session_report jsonb_path_ops);

-- ---------------------------------------------------------------------------------------------
-- What was said. Teacher hints are turns with speaker 'teacher'.
-- latency_ms (assistant turns): end of student input -> first guarded sentence released.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.transcript_turns (
    id          bigserial PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES public.learning_sessions (id) ON DELETE CASCADE,
    turn_index  integer NOT NULL CHECK (turn_index >= 0),
    speaker     text NOT NULL
                CHECK (speaker IN ('student', 'orchestrator', 'math', 'history', 'english', 'teacher', 'system')),
    role        text NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content     text NOT NULL CHECK (btrim(content) <> ''),
    subject     text CHECK (subject IN ('math', 'history', 'english', 'off_topic', 'needs_teacher')),
    latency_ms  real CHECK (latency_ms >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Leading session_id also serves lookups by session.
    UNIQUE (session_id, turn_index, speaker)
);
CREATE INDEX IF NOT EXISTS transcript_turns_created_at_idx ON public.transcript_turns (created_at);

-- ---------------------------------------------------------------------------------------------
-- Routing: both strategies (two-stage classifier, LLM function tools) are audited here.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.routing_decisions (
    id          bigserial PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES public.learning_sessions (id) ON DELETE CASCADE,
    turn_index  integer NOT NULL CHECK (turn_index >= 0),
    subject     text NOT NULL CHECK (subject IN ('math', 'history', 'english', 'off_topic', 'needs_teacher')),
    confidence  real NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    strategy    text NOT NULL CHECK (strategy IN ('two_stage', 'function_tools')),
    stage       text NOT NULL CHECK (stage IN ('local', 'llm', 'tool')),
    latency_ms  real NOT NULL CHECK (latency_ms >= 0),
    rationale   text,
    excerpt     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS routing_decisions_session_idx ON public.routing_decisions (session_id, turn_index);
CREATE INDEX IF NOT EXISTS routing_decisions_created_at_idx ON public.routing_decisions (created_at);

-- ---------------------------------------------------------------------------------------------
-- Guardrail decisions, one row per checked sentence (input or output). session_id is NULL for
-- checks made outside a session (e.g. the guardrail service called directly).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.guardrail_events (
    id             bigserial PRIMARY KEY,
    session_id     uuid REFERENCES public.learning_sessions (id) ON DELETE CASCADE,
    direction      text NOT NULL CHECK (direction IN ('input', 'output')),
    category       text NOT NULL DEFAULT 'none' CHECK (btrim(category) <> ''),
    score          real CHECK (score >= 0 AND score <= 1),
    action         text NOT NULL CHECK (action IN ('allow', 'rewrite', 'block', 'escalate')),
    sentence_hash  text,
    excerpt        text CHECK (char_length(excerpt) <= 200),
    source         text NOT NULL CHECK (btrim(source) <> ''),
    fail_closed    boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS guardrail_events_session_idx ON public.guardrail_events (session_id);
CREATE INDEX IF NOT EXISTS guardrail_events_created_at_idx ON public.guardrail_events (created_at);
COMMENT ON COLUMN public.guardrail_events.excerpt IS 'Masked excerpt (PII removed), at most 200 characters.';

-- ---------------------------------------------------------------------------------------------
-- Escalations: the monotonic id is the teacher feed's SSE event id (see 0002 for its ordering).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.escalation_events (
    id               bigserial PRIMARY KEY,
    session_id       uuid NOT NULL,
    student_id       uuid NOT NULL REFERENCES public.students (id) ON DELETE CASCADE,
    reason           text NOT NULL CHECK (btrim(reason) <> ''),
    source           text NOT NULL CHECK (source IN ('student', 'guardrail', 'router', 'agent', 'teacher')),
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    acknowledged_by  uuid REFERENCES public.teachers (id) ON DELETE SET NULL,
    acknowledged_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (session_id, student_id)
        REFERENCES public.learning_sessions (id, student_id) ON DELETE CASCADE,
    CHECK ((status = 'open') = (acknowledged_at IS NULL))
);
CREATE INDEX IF NOT EXISTS escalation_events_session_idx ON public.escalation_events (session_id);
CREATE INDEX IF NOT EXISTS escalation_events_student_id_idx ON public.escalation_events (student_id, id);
CREATE INDEX IF NOT EXISTS escalation_events_created_at_idx ON public.escalation_events (created_at);
CREATE INDEX IF NOT EXISTS escalation_events_open_idx ON public.escalation_events (id) WHERE status = 'open';

-- ---------------------------------------------------------------------------------------------
-- Model/API usage per call, for cost and the A/B report.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.provider_usage (
    id             bigserial PRIMARY KEY,
    session_id     uuid NOT NULL REFERENCES public.learning_sessions (id) ON DELETE CASCADE,
    turn_index     integer CHECK (turn_index >= 0),
    provider       text NOT NULL CHECK (btrim(provider) <> ''),
    model          text NOT NULL CHECK (btrim(model) <> ''),
    input_tokens   integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens  integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    audio_seconds  real NOT NULL DEFAULT 0 CHECK (audio_seconds >= 0),
    kind           text NOT NULL CHECK (btrim(kind) <> ''),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS provider_usage_session_idx ON public.provider_usage (session_id);
CREATE INDEX IF NOT EXISTS provider_usage_created_at_idx ON public.provider_usage (created_at);
COMMENT ON COLUMN public.provider_usage.kind IS 'e.g. chat, tts, stt, moderation, realtime, classify.';
