import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { api, describeFailure } from "../api/http";
import { useAuth } from "../auth";
import type { Escalation, Session, TeacherSession, Transcript, Variant } from "../api/types";
import { Notice } from "../components/Notice";
import { formatTime } from "../lib/format";
import { normaliseSpeaker, speakerLabel, subjectLabel } from "../lib/speakers";
import { notificationPermission, requestNotifications } from "../teacher/notifications";
import { useEscalationFeed } from "../teacher/useEscalationFeed";
import { LiveKitVoice, type RoomStatus } from "../voice/livekitVoice";

interface Selected {
  sessionId: string;
  studentName: string;
}

const FEED_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

export function TeacherPage() {
  const [selected, setSelected] = useState<Selected | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [permission, setPermission] = useState(notificationPermission());
  const [sessions, setSessions] = useState<TeacherSession[]>([]);
  const [sessionsError, setSessionsError] = useState<string | null>(null);
  const { config } = useAuth();

  const open = useCallback((e: { session_id: string; student_name?: string | null }) => {
    setSelected({ sessionId: e.session_id, studentName: e.student_name ?? "Student" });
  }, []);
  const feed = useEscalationFeed(open);

  const loadSessions = useCallback(async () => {
    try {
      setSessions(await api.get("/api/teacher/sessions", { query: { active: false, limit: 30 } }));
      setSessionsError(null);
    } catch (e) {
      // Polled in the background: say so in place and recover by itself on the next poll.
      setSessionsError(describeFailure(e));
    }
  }, []);

  useEffect(() => {
    void loadSessions();
    const timer = setInterval(() => void loadSessions(), 10000);
    return () => clearInterval(timer);
  }, [loadSessions]);

  const acknowledge = async (escalation: Escalation) => {
    try {
      feed.update(await api.post("/api/teacher/escalations/{escalation_id}/ack", { path: { escalation_id: escalation.id } }));
    } catch (e) {
      setError(describeFailure(e));
    }
  };

  const openItems = feed.items.filter((e) => e.status === "open").length;

  return (
    <div className="teacher">
      <div className="page-head">
        <h1>Teacher console</h1>
        <div className="status-row">
          <span className={`feed-status feed-${feed.status}`} data-testid="feed-status" data-status={feed.status} role="status">
            Escalation feed: {FEED_TEXT[feed.status]}
          </span>
          {permission === "default" && (
            <button type="button" onClick={() => void requestNotifications().then(setPermission)} data-testid="enable-notifications">
              Turn on notifications
            </button>
          )}
          {permission === "granted" && <span className="muted">Notifications on</span>}
          {permission === "denied" && <span className="muted">Notifications are blocked in this browser</span>}
        </div>
      </div>
      {error && (
        <Notice tone="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Notice>
      )}
      <div className="teacher-grid">
        <section className="card" aria-labelledby="esc-title">
          <h2 id="esc-title">
            Escalations <span className="count" data-testid="open-count">{openItems} open</span>
          </h2>
          {feed.items.length === 0 ? (
            <p className="muted">No student has asked for help. New requests appear here at once.</p>
          ) : (
            <ul className="escalations" aria-live="polite" data-testid="escalation-list">
              {feed.items.map((e) => (
                <li key={e.id} className={`escalation escalation-${e.status}`} data-testid="escalation-item" data-id={e.id} data-status={e.status}>
                  <div className="escalation-head">
                    <strong>{e.student_name ?? "Student"}</strong>
                    <span className={`badge badge-status-${e.status}`}>{e.status}</span>
                    <span className="muted">
                      {formatTime(e.created_at)} · {e.source}
                    </span>
                  </div>
                  <p className="escalation-reason">{e.reason}</p>
                  <div className="row">
                    <button type="button" onClick={() => open(e)} data-testid="open-transcript">
                      Open conversation
                    </button>
                    {e.status === "open" && (
                      <button type="button" className="primary" onClick={() => void acknowledge(e)} data-testid="acknowledge">
                        I'm on it
                      </button>
                    )}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </section>

        <section className="card" aria-labelledby="sessions-title">
          <h2 id="sessions-title">Recent sessions</h2>
          {sessionsError && (
            <p className="muted small" role="status">
              Could not refresh the list ({sessionsError}); retrying.
            </p>
          )}
          {sessions.length === 0 ? (
            <p className="muted">No sessions yet.</p>
          ) : (
            <ul className="sessions" data-testid="session-list">
              {sessions.map((s) => (
                <li key={s.session_id}>
                  <button
                    type="button"
                    className="session-row"
                    onClick={() => open(s)}
                    aria-pressed={selected?.sessionId === s.session_id}
                  >
                    <span>{s.student_name ?? "Student"}</span>
                    <span className={`badge badge-variant-${s.variant.toLowerCase()}`}>{s.variant}</span>
                    <span className="muted">{s.ended_at ? "ended" : "live"} · {formatTime(s.started_at)}</span>
                    {(s.open_escalations ?? 0) > 0 && <span className="badge badge-status-open">{s.open_escalations} open</span>}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {config?.qa_override_open && <QaSessionStarter sessions={sessions} onStarted={() => void loadSessions()} />}
        </section>

        {selected && <SessionDetail key={selected.sessionId} selected={selected} onClose={() => setSelected(null)} />}
      </div>
    </div>
  );
}

function SessionDetail({ selected, onClose }: { selected: Selected; onClose: () => void }) {
  const [transcript, setTranscript] = useState<Transcript | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [hint, setHint] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [room, setRoom] = useState<{ status: RoomStatus; message?: string; participants: string[] } | null>(null);
  const voice = useRef<LiveKitVoice | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const load = useCallback(async () => {
    try {
      setTranscript(await api.get("/api/teacher/sessions/{session_id}/transcript", { path: { session_id: selected.sessionId } }));
      setLoadError(null);
    } catch (e) {
      setLoadError(describeFailure(e));
    }
  }, [selected.sessionId]);

  useEffect(() => {
    headingRef.current?.focus();
    void load();
    const timer = setInterval(() => void load(), 3000);
    return () => {
      clearInterval(timer);
      void voice.current?.disconnect();
    };
  }, [load]);

  const sendHint = async (e: FormEvent) => {
    e.preventDefault();
    const text = hint.trim();
    if (!text) return;
    try {
      const result = await api.post("/api/teacher/sessions/{session_id}/hint", { path: { session_id: selected.sessionId }, body: { text } });
      setHint("");
      setSent(result.delivered_to > 0 ? "Hint delivered to the student's screen." : "Hint saved; the student will see it in the transcript.");
      void load();
    } catch (err) {
      setError(describeFailure(err));
    }
  };

  const join = async () => {
    try {
      const grant = await api.post("/api/teacher/sessions/{session_id}/join", { path: { session_id: selected.sessionId } });
      const lk = new LiveKitVoice(grant.url, grant.token, {
        onStatus: (status, message) => setRoom((r) => ({ participants: r?.participants ?? [], status, message })),
        onParticipants: (participants) => setRoom((r) => ({ status: r?.status ?? "connected", message: r?.message, participants })),
      });
      voice.current = lk;
      await lk.connect(true);
    } catch (err) {
      setError(describeFailure(err));
    }
  };

  const leave = async () => {
    await voice.current?.disconnect();
    voice.current = null;
    setRoom(null);
  };

  const variant = transcript?.session.variant;
  return (
    <section className="card detail" aria-labelledby="detail-title" data-testid="session-detail">
      <div className="row spread">
        <h2 id="detail-title" ref={headingRef} tabIndex={-1}>
          {selected.studentName}'s conversation {variant && <span className={`badge badge-variant-${variant.toLowerCase()}`}>version {variant}</span>}
        </h2>
        <button type="button" className="link-button" onClick={onClose}>
          Close
        </button>
      </div>
      {error && (
        <Notice tone="error" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Notice>
      )}
      {loadError && (
        <p className="muted small" role="status">
          The conversation could not be refreshed ({loadError}); retrying.
        </p>
      )}
      <ol className="teacher-transcript" data-testid="teacher-transcript" aria-live="polite">
        {transcript?.turns.length === 0 && <li className="muted">No turns yet.</li>}
        {transcript?.turns.map((t) => {
          const speaker = normaliseSpeaker(t.speaker, t.role);
          return (
            <li key={`${t.turn_index}-${t.role}-${t.speaker}`} className={`turn turn-${speaker}`}>
              <span className="turn-speaker">{speakerLabel(speaker)}</span>
              <span className="turn-text">{t.content}</span>
              {t.subject && <span className="chip">{subjectLabel(t.subject)}</span>}
            </li>
          );
        })}
      </ol>
      <form onSubmit={sendHint} className="hint-form">
        <label htmlFor="hint-text">Hint for {selected.studentName}</label>
        <textarea id="hint-text" value={hint} onChange={(e) => setHint(e.target.value)} maxLength={1000} rows={2} data-testid="hint-input" />
        <button type="submit" className="primary" disabled={!hint.trim()} data-testid="send-hint">
          Send hint
        </button>
        {sent && (
          <p className="muted" role="status" data-testid="hint-sent">
            {sent}
          </p>
        )}
      </form>
      {variant === "A" && (
        <div className="room">
          {!room ? (
            <button type="button" onClick={() => void join()} data-testid="join-room">
              Join the room (talk to {selected.studentName})
            </button>
          ) : (
            <>
              <p role="status">
                Room: {room.status}
                {room.message ? ` · ${room.message}` : ""}
              </p>
              {room.participants.length > 0 && <p>In the room: {room.participants.join(", ")}</p>}
              <button type="button" onClick={() => void leave()}>
                Leave the room
              </button>
            </>
          )}
        </div>
      )}
    </section>
  );
}

/** QA: start a session for one of your students on a chosen version (checks assignment and credentials). */
function QaSessionStarter({ sessions, onStarted }: { sessions: TeacherSession[]; onStarted: () => void }) {
  const students = new Map<string, string>();
  for (const s of sessions) students.set(s.student_id, s.student_name ?? s.student_id.slice(0, 8));
  const [studentId, setStudentId] = useState("");
  const [variant, setVariant] = useState<Variant>("B");
  const [result, setResult] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (students.size === 0) return null;
  const chosen = studentId || [...students.keys()][0];

  const start = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    try {
      setResult(await api.post("/api/sessions", { body: { student_id: chosen }, query: { variant } }));
      onStarted();
    } catch (err) {
      setError(describeFailure(err));
    }
  };

  return (
    <details className="qa">
      <summary>QA: start a session on a chosen version</summary>
      <form onSubmit={start} className="qa-form">
        <label htmlFor="qa-student">Student</label>
        <select id="qa-student" value={chosen} onChange={(e) => setStudentId(e.target.value)}>
          {[...students].map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>Version</legend>
          {(["A", "B"] as const).map((v) => (
            <label key={v} className="inline">
              <input type="radio" name="qa-variant" value={v} checked={variant === v} onChange={() => setVariant(v)} /> {v}
            </label>
          ))}
        </fieldset>
        <button type="submit">Start QA session</button>
      </form>
      {result && (
        <p role="status" data-testid="qa-result">
          Started version {result.variant} ({result.assignment_reason}), revision {result.revision}.
        </p>
      )}
      {error && <p className="error-text">{error}</p>}
    </details>
  );
}
