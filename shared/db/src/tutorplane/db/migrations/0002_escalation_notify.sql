-- Escalation ids in commit order, and a NOTIFY per new escalation.
--
-- The teacher feed replays `id > Last-Event-ID`. Plain sequence ids can commit out of order
-- (transaction A takes 10, B takes 11 and commits first; a reader that saw 11 would never replay
-- 10). The BEFORE INSERT trigger therefore takes a transaction-scoped advisory lock and only then
-- draws the id, so escalation inserts commit in id order. Escalations are rare; the
-- serialisation costs nothing measurable. Any default id drawn before the trigger is discarded.

CREATE OR REPLACE FUNCTION tutorplane.escalation_events_assign_id() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
    -- 7305812250434158657: fixed key of the "escalation id" lock (any constant unique to this use).
    PERFORM pg_advisory_xact_lock(7305812250434158657);
    NEW.id := nextval(pg_get_serial_sequence('public.escalation_events', 'id'));
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER escalation_events_assign_id
    BEFORE INSERT ON public.escalation_events
    FOR EACH ROW EXECUTE FUNCTION tutorplane.escalation_events_assign_id();

-- Payload: {id, session_id, student_id, class_id, reason, source, created_at}. NOTIFY payloads are
-- limited to 8000 bytes, so `reason` is cut to 1000 characters (the row keeps it whole).
CREATE OR REPLACE FUNCTION tutorplane.escalation_events_notify() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    v_class_id uuid;
BEGIN
    SELECT s.class_id INTO v_class_id FROM public.students s WHERE s.id = NEW.student_id;
    PERFORM pg_notify(
        'escalation_events',
        json_build_object(
            'id', NEW.id,
            'session_id', NEW.session_id,
            'student_id', NEW.student_id,
            'class_id', v_class_id,
            'reason', left(NEW.reason, 1000),
            'source', NEW.source,
            'created_at', NEW.created_at
        )::text
    );
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER escalation_events_notify
    AFTER INSERT ON public.escalation_events
    FOR EACH ROW EXECUTE FUNCTION tutorplane.escalation_events_notify();

REVOKE ALL ON FUNCTION tutorplane.escalation_events_assign_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION tutorplane.escalation_events_notify() FROM PUBLIC;

-- Supabase Realtime: publish escalations when its publication exists. No FOR ALL TABLES
-- publication is ever created here.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime')
       AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_publication_tables
           WHERE pubname = 'supabase_realtime' AND schemaname = 'public' AND tablename = 'escalation_events'
       )
       AND NOT (SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime')
    THEN
        ALTER PUBLICATION supabase_realtime ADD TABLE public.escalation_events;
    END IF;
END
$$;
