import { type FormEvent, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { isAudioUnlocked, onAudioUnlockChange, unlockAudio } from "../audio/audioUnlock";
import { useAuth } from "../auth";
import { AgentStateIndicator, SubjectBadge, VariantBadge } from "../components/Badges";
import { EscalationBanner, HintList } from "../components/EscalationBanner";
import { FlowVisualizer } from "../components/FlowVisualizer";
import { Notice } from "../components/Notice";
import { SessionSummary } from "../components/SessionSummary";
import { SuggestedQuestions } from "../components/SuggestedQuestions";
import { TradeoffPanel } from "../components/TradeoffPanel";
import { TranscriptPanel } from "../components/TranscriptPanel";
import { qaOverride } from "../student/qaOverride";
import { useStudentSession } from "../student/useStudentSession";

function useAudioUnlocked(): boolean {
  return useSyncExternalStore(onAudioUnlockChange, isAudioUnlocked);
}

export function StudentPage() {
  const { user, config } = useAuth();
  if (!config || !user) return null;
  return <StudentView name={user.display_name} config={config} />;
}

function StudentView({ name, config }: { name: string; config: NonNullable<ReturnType<typeof useAuth>["config"]> }) {
  const [state, session] = useStudentSession(config);
  const [text, setText] = useState("");
  const inputRef = useRef<HTMLInputElement>(null);
  const audioUnlocked = useAudioUnlocked();
  const qa = qaOverride(location.search, config);
  const override = qa.variant;
  const active = state.phase === "active";

  useEffect(() => {
    if (active) inputRef.current?.focus();
  }, [active]);

  const send = (e: FormEvent) => {
    e.preventDefault();
    const question = text.trim();
    if (!question) return;
    setText("");
    void session.ask(question);
  };

  const hasTutorTurn = state.transcript.some((t) => !["student", "system", "teacher"].includes(t.speaker));
  const busy = state.turnActive || state.agentState === "speaking";

  return (
    <div className="student">
      <div className="page-head">
        <h1>Hi {name}! What shall we learn?</h1>
        {state.session && (
          <div className="status-row" aria-label="Session status">
            <VariantBadge session={state.session} />
            <SubjectBadge
              routing={state.routing}
              pending={
                state.flow.steps[0]?.status === "blocked"
                  ? "Stopped by the safety check"
                  : state.turnActive
                    ? "Routing…"
                    : undefined
              }
            />
            <AgentStateIndicator state={state.agentState} />
          </div>
        )}
      </div>

      {!state.online && (
        <Notice tone="error" title="You're offline" testId="network-notice">
          <p>Your device lost its connection. The tutor will be back as soon as the network is.</p>
        </Notice>
      )}
      {state.error && (
        <Notice tone="error" title="Something went wrong" testId="student-error" onDismiss={() => session.dismissError()}>
          <p>{state.error}</p>
        </Notice>
      )}
      {state.unavailable && (
        <Notice tone="warn" title="This tutor version is unavailable" testId="variant-unavailable">
          <p>{state.unavailable}</p>
          {override && (
            <p>
              <a href="/student">Start without choosing a version</a>
            </p>
          )}
        </Notice>
      )}

      {(state.phase === "idle" || state.phase === "starting") && (
        <section className="card start" aria-labelledby="start-title">
          <h2 id="start-title">Start a tutoring session</h2>
          <p>You can talk or type. Your teacher can see the conversation and help if you need them.</p>
          {qa.note && (
            <p className="muted" data-testid="qa-override-note">
              {qa.note}
            </p>
          )}
          <button
            type="button"
            className="primary big"
            disabled={state.phase === "starting"}
            onClick={() => {
              void unlockAudio();
              void session.start(override);
            }}
            data-testid="start-session"
          >
            {state.phase === "starting" ? "Starting…" : "Start session"}
          </button>
        </section>
      )}

      {state.phase === "ended" && state.summary && (
        <SessionSummary summary={state.summary} onRestart={() => void session.start(override)} />
      )}

      {(active || state.phase === "ending") && state.session && (
        <div className="student-grid">
          <div className="student-main">
            <EscalationBanner escalation={state.escalation} teacherPresent={state.teacherPresent} />
            {!audioUnlocked && (
              <button type="button" className="unlock" onClick={() => void unlockAudio()} data-testid="audio-unlock">
                Tap here to hear the tutor
              </button>
            )}
            <VoicePanel voice={state.voice} onToggleMic={() => void session.toggleMic()} onRestart={() => void session.restartVoice()} />
            {state.session.realtime && (
              <p className="muted small" data-testid="realtime-key">
                Realtime session key issued for {state.session.realtime.model} (voice {state.session.realtime.voice}), valid until{" "}
                {new Date(state.session.realtime.expires_at * 1000).toLocaleTimeString()}.
              </p>
            )}
            <TranscriptPanel entries={state.transcript} />
            <form className="composer" onSubmit={send}>
              <label htmlFor="question" className="sr-only">
                Type your question
              </label>
              <input
                id="question"
                ref={inputRef}
                value={text}
                onChange={(e) => setText(e.target.value)}
                placeholder="Type your question…"
                maxLength={1000}
                autoComplete="off"
                disabled={!active}
              />
              <button type="submit" className="primary" disabled={!active || !text.trim()}>
                Send
              </button>
            </form>
            <div className="actions">
              {busy && (
                <button type="button" onClick={() => void session.bargeIn(true)} data-testid="barge-in">
                  Stop the tutor
                </button>
              )}
              <button
                type="button"
                className="teacher-button"
                disabled={!active || state.escalation.status === "asking" || state.escalation.status === "open"}
                onClick={() => void session.askTeacher()}
                data-testid="ask-teacher"
              >
                Ask a teacher
              </button>
              <button type="button" className="secondary" disabled={!active} onClick={() => void session.end()} data-testid="end-session">
                End session
              </button>
            </div>
            <p className="sr-only" aria-live="polite" data-testid="live-channel" data-state={state.liveChannel}>
              {state.liveChannel === "reconnecting" ? "Reconnecting to your teacher's channel…" : ""}
            </p>
          </div>
          <div className="student-side">
            <HintList hints={state.hints} />
            <TradeoffPanel
              moment={state.tradeoff}
              history={state.tradeoffHistory}
              onDismiss={() => session.dismissTradeoff()}
              onReopen={(topic) => session.reopenTradeoff(topic)}
            />
            {!hasTutorTurn && <SuggestedQuestions onPick={(q) => void session.ask(q)} disabled={!active} />}
            <FlowVisualizer flow={state.flow} />
          </div>
        </div>
      )}
    </div>
  );
}

function VoicePanel({
  voice,
  onToggleMic,
  onRestart,
}: {
  voice: ReturnType<typeof useStudentSession>[0]["voice"];
  onToggleMic: () => void;
  onRestart: () => void;
}) {
  const canToggle = voice.status === "connected";
  // A voice connection that closed or failed can be started again (unavailable stays so).
  const canRestart = voice.kind !== "none" && (voice.status === "off" || voice.status === "error");
  const tone = voice.status === "error" ? "error" : voice.status === "unavailable" ? "warn" : "info";
  return (
    <div className="voice" data-testid="voice-panel" data-status={voice.status} data-kind={voice.kind}>
      <button
        type="button"
        className={`mic ${voice.micOn && canToggle ? "mic-on" : ""}`}
        aria-pressed={voice.micOn && canToggle}
        disabled={!canToggle}
        onClick={onToggleMic}
        data-testid="mic-toggle"
      >
        {voice.micOn && canToggle ? "Microphone on" : "Microphone off"}
      </button>
      <span className="voice-status">
        {voice.status === "connecting" && "Connecting voice…"}
        {voice.status === "connected" && (voice.micOn ? "Speak any time, or type." : "Mic is off. Type, or turn the mic on.")}
        {voice.status === "reconnecting" && "Reconnecting voice…"}
        {voice.status === "off" && "Voice is off. You can type."}
      </span>
      {canRestart && (
        <button type="button" className="secondary" onClick={onRestart} data-testid="voice-restart">
          Start voice again
        </button>
      )}
      {voice.message && (
        <Notice tone={tone} testId="voice-notice">
          <p>{voice.message}</p>
        </Notice>
      )}
    </div>
  );
}
