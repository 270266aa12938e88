/**
 * The flow view's state, driven only by real events: the gateway's turn stream (version B, and
 * typed turns on A) or the version-A agent's `tutorplane.events` topic. A pure reducer, so what the
 * FlowVisualizer shows for any event sequence is unit-tested.
 */
import type { StageLatencies, TutorEvent } from "../api/turnEvents";
import type { Variant } from "../api/types";
import { subjectLabel } from "./speakers";
import { formatMs } from "./format";

export type StepId = "input" | "routing" | "specialist" | "guardrail" | "tts";
export type StepStatus = "idle" | "active" | "done" | "skipped" | "blocked";

export interface FlowStep {
  id: StepId;
  label: string;
  status: StepStatus;
  detail?: string;
  /** When the step finished, in ms from the start of the turn (the gateway's stage marks). */
  latencyMs?: number;
}

export interface FlowState {
  variant: Variant;
  steps: FlowStep[];
  turnIndex: number | null;
  outcome: "running" | "completed" | "cancelled" | "error" | null;
  latencies: StageLatencies | null;
  /** Sentences released after the check, and the checks that changed or stopped something;
   * failClosed: blocked because the guardrail could not answer (not because the text was unsafe). */
  guard: { sentences: number; rewritten: number; blocked: number; failClosed: number };
  escalated: boolean;
  handoff: string | null;
}

const LABELS: Record<Variant, Record<StepId, string>> = {
  A: {
    input: "Speech to text (agent)",
    routing: "Orchestrator",
    specialist: "Specialist agent",
    guardrail: "Guardrail, per sentence",
    tts: "Text to speech (agent)",
  },
  B: {
    input: "Input check",
    routing: "Router (local, then Haiku)",
    specialist: "Specialist",
    guardrail: "Guardrail, per sentence",
    tts: "Speech (gateway TTS)",
  },
};

export const STEP_ORDER: StepId[] = ["input", "routing", "specialist", "guardrail", "tts"];

export function initialFlow(variant: Variant): FlowState {
  return {
    variant,
    steps: STEP_ORDER.map((id) => ({ id, label: LABELS[variant][id], status: "idle" })),
    turnIndex: null,
    outcome: null,
    latencies: null,
    guard: { sentences: 0, rewritten: 0, blocked: 0, failClosed: 0 },
    escalated: false,
    handoff: null,
  };
}

export function activeStep(state: FlowState): StepId | null {
  return state.steps.find((s) => s.status === "active")?.id ?? null;
}

function patch(state: FlowState, id: StepId, change: Partial<FlowStep>): FlowState {
  return { ...state, steps: state.steps.map((s) => (s.id === id ? { ...s, ...change } : s)) };
}

/** Mark every step before `id` done (unless skipped/blocked) and `id` active. Never moves back:
 * sentence n+1 is checked while sentence n is spoken, and speech stays the active step. */
function advanceTo(state: FlowState, id: StepId): FlowState {
  const target = STEP_ORDER.indexOf(id);
  const furthest = state.steps.reduce((max, s, i) => (s.status === "active" ? i : max), -1);
  if (furthest > target) return state;
  return {
    ...state,
    steps: state.steps.map((s, i) => {
      if (i < target && (s.status === "idle" || s.status === "active")) return { ...s, status: "done" };
      if (i === target && s.status !== "blocked") return { ...s, status: "active" };
      return s;
    }),
  };
}

const STAGE_OF: Record<StepId, keyof StageLatencies> = {
  input: "input_check",
  routing: "routing",
  specialist: "first_token",
  guardrail: "first_sentence",
  tts: "first_audio",
};

export function flowReducer(state: FlowState, event: TutorEvent): FlowState {
  switch (event.type) {
    case "turn": {
      const fresh = initialFlow(state.variant);
      return { ...advanceTo(fresh, "input"), turnIndex: event.data.turn_index, outcome: "running" };
    }
    case "routing": {
      const d = event.data;
      let next = advanceTo(state, "specialist");
      next = patch(next, "routing", {
        status: "done",
        detail: `${subjectLabel(d.subject)} · confidence ${d.confidence.toFixed(2)} · ${d.stage} stage · ${formatMs(d.latency_ms)}`,
      });
      return patch(next, "specialist", { detail: subjectLabel(d.subject) });
    }
    case "guardrail": {
      const d = event.data;
      if (d.direction === "input") {
        const blocked = d.action === "block" || d.action === "escalate";
        let next = patch(state, "input", {
          status: blocked ? "blocked" : "done",
          detail: `${d.action}${d.category ? ` (${d.category})` : ""}`,
        });
        if (blocked) {
          next = patch(next, "routing", { status: "skipped", detail: "not routed: the message was stopped" });
          next = patch(next, "specialist", { status: "skipped", detail: "a safe line is said instead" });
        }
        return next;
      }
      const guard = {
        sentences: state.guard.sentences,
        rewritten: state.guard.rewritten + (d.action === "rewrite" ? 1 : 0),
        blocked: state.guard.blocked + (d.action === "block" || d.action === "escalate" ? 1 : 0),
        failClosed: state.guard.failClosed + (d.fail_closed ? 1 : 0),
      };
      const next = advanceTo({ ...state, guard }, "guardrail");
      return patch(next, "guardrail", { detail: guardDetail(guard) });
    }
    case "sentence": {
      const guard = { ...state.guard, sentences: state.guard.sentences + 1 };
      const next = advanceTo({ ...state, guard }, "guardrail");
      return patch(next, "guardrail", { detail: guardDetail(guard) });
    }
    case "audio":
      return advanceTo(state, "tts");
    case "escalation":
      return { ...state, escalated: true };
    case "handoff": {
      const d = event.data;
      const text = `handoff ${d.from_agent} → ${d.to_agent} (${d.mode.replace("_", " ")})`;
      return patch({ ...state, handoff: text }, "specialist", { detail: text });
    }
    case "state": {
      const step = event.data.step;
      const map: Record<string, StepId> = { orchestrator: "routing", specialist: "specialist", guardrail: "guardrail", tts: "tts" };
      if (step && map[step]) return advanceTo({ ...state, outcome: state.outcome ?? "running" }, map[step]);
      if (event.data.agent_state === "listening" && state.outcome === "running") return finish(state, "completed", null);
      return state;
    }
    case "done": {
      // Sentences silenced as a repeat of the safe line before them are checked but not shown.
      let next = state;
      if ((event.data.checked ?? 0) > state.guard.sentences) {
        const guard = { ...state.guard, sentences: event.data.checked ?? 0 };
        next = patch({ ...state, guard }, "guardrail", { detail: guardDetail(guard) });
      }
      return finish(next, event.data.outcome, event.data.latency_ms);
    }
    case "error":
      return { ...state, outcome: "error" };
    default:
      return state;
  }
}

function guardDetail(g: FlowState["guard"]): string {
  // Every released sentence was checked; replaced ones are counted again below ("3 passed ·
  // 3 blocked" read as six sentences when the guardrail replaced all three).
  const parts = [`${g.sentences} ${g.sentences === 1 ? "sentence" : "sentences"} checked`];
  if (g.rewritten) parts.push(`${g.rewritten} rewritten`);
  if (g.blocked) parts.push(`${g.blocked} blocked`);
  if (g.failClosed) parts.push(`${g.failClosed === g.blocked ? "all" : g.failClosed} failed closed (guardrail unavailable)`);
  if (!g.rewritten && !g.blocked && g.sentences) parts.push("nothing flagged");
  return parts.join(" · ");
}

function finish(state: FlowState, outcome: FlowState["outcome"], latencies: StageLatencies | null): FlowState {
  return {
    ...state,
    outcome,
    latencies,
    steps: state.steps.map((s) => {
      const stage = latencies?.[STAGE_OF[s.id]];
      const latencyMs = typeof stage === "number" ? stage : s.latencyMs;
      if (s.status === "active") return { ...s, status: outcome === "completed" ? "done" : "skipped", latencyMs };
      if (s.status === "idle") return { ...s, status: "skipped", latencyMs };
      return { ...s, latencyMs };
    }),
  };
}
