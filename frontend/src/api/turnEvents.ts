/**
 * Events of a guarded turn (`POST /api/sessions/{id}/turns`, Server-Sent Events) and of the
 * version-A agent's `tutorplane.events` data topic, which uses the same names where they overlap.
 */

export type Subject = "math" | "history" | "english" | "off_topic" | "needs_teacher";
export type GuardAction = "allow" | "rewrite" | "block" | "escalate";

export interface TurnStarted {
  turn_id: string;
  turn_index: number;
  session_id: string;
}

export interface RoutingEvent {
  subject: Subject;
  routed_subject?: Subject;
  confidence: number;
  stage: string;
  strategy: string;
  latency_ms: number;
  rationale?: string;
  turn_index?: number;
}

export interface GuardrailEvent {
  direction: "input" | "output";
  action: GuardAction;
  category: string | null;
  score: number;
  fail_closed: boolean;
  reason?: string | null;
  index?: number;
  pii?: string[];
  agent?: string;
}

export interface SentenceEvent {
  index: number;
  text: string;
  action: GuardAction;
  agent?: string;
  latency_ms?: number;
}

export interface AudioEvent {
  index: number;
  seq: number;
  sample_rate: number;
  pcm: string;
}

export interface EscalationEvent {
  source: string;
  message?: string;
  reason?: string;
}

/** Stage latencies in ms, measured on the gateway from the start of the turn. */
export interface StageLatencies {
  input_check?: number;
  routing?: number;
  first_token?: number;
  first_sentence?: number;
  first_audio?: number;
  total?: number;
  [stage: string]: number | undefined;
}

export interface DoneEvent {
  turn_id: string;
  turn_index: number;
  outcome: "completed" | "cancelled" | "error";
  cancelled: boolean;
  latency_ms: StageLatencies;
  usage: Array<Record<string, unknown>>;
  /** Sentences shown (a safe line repeated by consecutive blocked sentences is shown once). */
  sentences: number;
  /** Sentences the output guardrail decided on, shown or not. */
  checked?: number;
}

export interface ErrorEvent {
  message: string;
}

/** Version A only (agent data topic). */
export interface AgentStateEvent {
  agent_state: "listening" | "thinking" | "speaking" | "initializing" | "idle";
  speaking_agent?: string;
  step?: "orchestrator" | "specialist" | "guardrail" | "tts" | null;
  teacher_present?: boolean;
}

export interface HandoffEvent {
  from_agent: string;
  to_agent: string;
  mode: "in_session" | "dispatch" | "fallback";
  reason?: string;
  question?: string;
}

export type TutorEvent =
  | { type: "turn"; data: TurnStarted }
  | { type: "routing"; data: RoutingEvent }
  | { type: "guardrail"; data: GuardrailEvent }
  | { type: "sentence"; data: SentenceEvent }
  | { type: "audio"; data: AudioEvent }
  | { type: "escalation"; data: EscalationEvent }
  | { type: "done"; data: DoneEvent }
  | { type: "error"; data: ErrorEvent }
  | { type: "state"; data: AgentStateEvent }
  | { type: "handoff"; data: HandoffEvent };

const KNOWN = new Set(["turn", "routing", "guardrail", "sentence", "audio", "escalation", "done", "error", "state", "handoff"]);

/** A typed event from an SSE message or data-topic message, or null for anything unknown. */
export function toTutorEvent(name: string, data: unknown): TutorEvent | null {
  if (!KNOWN.has(name) || data === null || typeof data !== "object") return null;
  return { type: name, data } as TutorEvent;
}
