-- Open sessions are looked up by age: the gateways end the ones nobody uses any more (no student
-- page open, no turn for a while). A partial index keeps that scan to the open sessions only.

CREATE INDEX IF NOT EXISTS learning_sessions_open_started_idx
    ON public.learning_sessions (started_at) WHERE ended_at IS NULL;
