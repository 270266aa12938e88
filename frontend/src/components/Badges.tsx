import type { RoutingEvent } from "../api/turnEvents";
import type { Session } from "../api/types";
import { subjectLabel } from "../lib/speakers";
import type { AgentState } from "../student/sessionState";

export function VariantBadge({ session }: { session: Session }) {
  const name = session.variant === "A" ? "Version A · agent pool" : "Version B · gateway";
  return (
    <span
      className={`badge badge-variant badge-variant-${session.variant.toLowerCase()}`}
      data-testid="variant-badge"
      data-variant={session.variant}
      title={`Revision ${session.revision}; ${session.assignment_reason === "override" ? "chosen by a QA override" : "assigned by the rollout weights"}`}
    >
      {name}
      {session.assignment_reason === "override" && <span className="badge-note"> · QA override</span>}
    </span>
  );
}

export function SubjectBadge({ routing, pending }: { routing: RoutingEvent | null; pending?: string }) {
  if (!routing) {
    return (
      <span className="badge badge-subject" data-testid="subject-badge" data-subject="">
        {pending ?? "Waiting for a question"}
      </span>
    );
  }
  const pct = Math.round(routing.confidence * 100);
  return (
    <span
      className={`badge badge-subject subject-${routing.subject}`}
      data-testid="subject-badge"
      data-subject={routing.subject}
      title={`Routed by the ${routing.stage} stage (${routing.strategy})`}
    >
      {subjectLabel(routing.subject)} <span className="badge-note">· {pct}% sure</span>
    </span>
  );
}

const STATE_TEXT: Record<AgentState, string> = {
  idle: "Ready",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
};

export function AgentStateIndicator({ state }: { state: AgentState }) {
  return (
    <span className={`agent-state agent-state-${state}`} data-testid="agent-state" data-state={state}>
      <span className="agent-state-bars" aria-hidden="true">
        <i />
        <i />
        <i />
      </span>
      <span>Tutor: {STATE_TEXT[state]}</span>
    </span>
  );
}
