-- Row-level security for the Supabase roles.
--
--   anon           nothing: no table privilege and no policy (two locks on the same door).
--   authenticated  read-only, scoped by auth.uid(): a student reads their own row, sessions and
--                  turns; a teacher reads the students of their classes (via class_teachers) and
--                  everything recorded in those students' sessions, and may update an escalation's
--                  status/acknowledged_by/acknowledged_at. provider_usage is not visible to them.
--   service_role   everything (it also has BYPASSRLS; the policies cover login roles that are
--                  merely granted service_role).
--
-- RLS is ENABLED and FORCED on every table so that even a table owner without BYPASSRLS is
-- subject to it. Consequently migrations must run as a superuser or a BYPASSRLS role (as the
-- Supabase `postgres` role is): the helper functions below are SECURITY DEFINER and read
-- students/class_teachers as their owner. schema_migrations is the exception: enabled but not
-- forced, so the migrator that owns it can always read it.

-- ---------------------------------------------------------------------------------------------
-- Predicates. SECURITY DEFINER so that policies do not recurse through each other's RLS.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION tutorplane.teacher_has_student(p_teacher_id uuid, p_student_id uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p_teacher_id IS NOT NULL AND EXISTS (
        SELECT 1
        FROM public.students s
        JOIN public.class_teachers ct ON ct.class_id = s.class_id
        WHERE s.id = p_student_id AND ct.teacher_id = p_teacher_id
    )
$$;

CREATE OR REPLACE FUNCTION tutorplane.can_read_student(p_student_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p_student_id = auth.uid() OR tutorplane.teacher_has_student(auth.uid(), p_student_id)
$$;

CREATE OR REPLACE FUNCTION tutorplane.teaches_student(p_student_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT tutorplane.teacher_has_student(auth.uid(), p_student_id)
$$;

CREATE OR REPLACE FUNCTION tutorplane.can_read_session(p_session_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.learning_sessions ls
        WHERE ls.id = p_session_id AND tutorplane.can_read_student(ls.student_id)
    )
$$;

CREATE OR REPLACE FUNCTION tutorplane.teaches_session(p_session_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.learning_sessions ls
        WHERE ls.id = p_session_id AND tutorplane.teaches_student(ls.student_id)
    )
$$;

CREATE OR REPLACE FUNCTION tutorplane.can_read_class(p_class_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.class_teachers ct WHERE ct.class_id = p_class_id AND ct.teacher_id = auth.uid()
    ) OR EXISTS (
        SELECT 1 FROM public.students s WHERE s.class_id = p_class_id AND s.id = auth.uid()
    )
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA tutorplane FROM PUBLIC;
GRANT USAGE ON SCHEMA tutorplane TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION
    tutorplane.teacher_has_student(uuid, uuid),
    tutorplane.can_read_student(uuid),
    tutorplane.teaches_student(uuid),
    tutorplane.can_read_session(uuid),
    tutorplane.teaches_session(uuid),
    tutorplane.can_read_class(uuid)
TO authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Table privileges (Supabase's default privileges grant anon/authenticated everything on new
-- public tables; take that back and grant only what the policies below use).
-- ---------------------------------------------------------------------------------------------
REVOKE ALL ON
    public.classes, public.teachers, public.students, public.class_teachers, public.learning_sessions,
    public.transcript_turns, public.routing_decisions, public.guardrail_events, public.escalation_events,
    public.provider_usage, public.schema_migrations
FROM PUBLIC, anon, authenticated;

GRANT SELECT ON
    public.classes, public.teachers, public.students, public.class_teachers, public.learning_sessions,
    public.transcript_turns, public.routing_decisions, public.guardrail_events, public.escalation_events
TO authenticated;
GRANT UPDATE (status, acknowledged_by, acknowledged_at) ON public.escalation_events TO authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    public.classes, public.teachers, public.students, public.class_teachers, public.learning_sessions,
    public.transcript_turns, public.routing_decisions, public.guardrail_events, public.escalation_events,
    public.provider_usage
TO service_role;
GRANT SELECT ON public.schema_migrations TO service_role;
GRANT USAGE, SELECT ON SEQUENCE
    public.transcript_turns_id_seq, public.routing_decisions_id_seq, public.guardrail_events_id_seq,
    public.escalation_events_id_seq, public.provider_usage_id_seq
TO service_role;

-- ---------------------------------------------------------------------------------------------
-- Enable + force RLS, service_role policy on every table.
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'classes', 'teachers', 'students', 'class_teachers', 'learning_sessions', 'transcript_turns',
        'routing_decisions', 'guardrail_events', 'escalation_events', 'provider_usage'
    ] LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('DROP POLICY IF EXISTS service_role_all ON public.%I', t);
        EXECUTE format(
            'CREATE POLICY service_role_all ON public.%I AS PERMISSIVE FOR ALL TO service_role '
            'USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

ALTER TABLE public.schema_migrations ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS service_role_read ON public.schema_migrations;
CREATE POLICY service_role_read ON public.schema_migrations FOR SELECT TO service_role USING (true);

-- ---------------------------------------------------------------------------------------------
-- authenticated: read policies. `(SELECT auth.uid())` is evaluated once per statement.
-- ---------------------------------------------------------------------------------------------
DROP POLICY IF EXISTS authenticated_read ON public.classes;
CREATE POLICY authenticated_read ON public.classes FOR SELECT TO authenticated
    USING (tutorplane.can_read_class(id));

DROP POLICY IF EXISTS authenticated_read ON public.teachers;
CREATE POLICY authenticated_read ON public.teachers FOR SELECT TO authenticated
    USING (id = (SELECT auth.uid()));

DROP POLICY IF EXISTS authenticated_read ON public.students;
CREATE POLICY authenticated_read ON public.students FOR SELECT TO authenticated
    USING (tutorplane.can_read_student(id));

DROP POLICY IF EXISTS authenticated_read ON public.class_teachers;
CREATE POLICY authenticated_read ON public.class_teachers FOR SELECT TO authenticated
    USING (teacher_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS authenticated_read ON public.learning_sessions;
CREATE POLICY authenticated_read ON public.learning_sessions FOR SELECT TO authenticated
    USING (tutorplane.can_read_student(student_id));

DROP POLICY IF EXISTS authenticated_read ON public.transcript_turns;
CREATE POLICY authenticated_read ON public.transcript_turns FOR SELECT TO authenticated
    USING (tutorplane.can_read_session(session_id));

DROP POLICY IF EXISTS teacher_read ON public.routing_decisions;
CREATE POLICY teacher_read ON public.routing_decisions FOR SELECT TO authenticated
    USING (tutorplane.teaches_session(session_id));

DROP POLICY IF EXISTS teacher_read ON public.guardrail_events;
CREATE POLICY teacher_read ON public.guardrail_events FOR SELECT TO authenticated
    USING (session_id IS NOT NULL AND tutorplane.teaches_session(session_id));

DROP POLICY IF EXISTS teacher_read ON public.escalation_events;
CREATE POLICY teacher_read ON public.escalation_events FOR SELECT TO authenticated
    USING (tutorplane.teaches_student(student_id));

-- A teacher acknowledges/resolves escalations of their own students, in their own name.
DROP POLICY IF EXISTS teacher_update ON public.escalation_events;
CREATE POLICY teacher_update ON public.escalation_events FOR UPDATE TO authenticated
    USING (tutorplane.teaches_student(student_id))
    WITH CHECK (
        tutorplane.teaches_student(student_id)
        AND (acknowledged_by IS NULL OR acknowledged_by = (SELECT auth.uid()))
    );
