/**
 * Why versions A and B differ, explained at the moment a real event shows the difference, with the
 * figures measured in this session. A pure function of the event, so each trigger is unit-tested.
 */
import type { StageLatencies, TutorEvent } from "../api/turnEvents";
import type { Variant } from "../api/types";
import { formatMs } from "./format";
import { subjectLabel } from "./speakers";

export type TradeoffTopic = "routing" | "english" | "guardrail" | "filler" | "teacher" | "barge-in";

export interface TradeoffMoment {
  topic: TradeoffTopic;
  title: string;
  /** What version A does here. */
  a: string;
  /** What version B does here. */
  b: string;
  /** What just happened in this session, with measured figures. */
  measured: string;
  variant: Variant;
  /** Newer figures for an explanation already given: they replace the old ones where shown or
   * listed, without opening the panel again. */
  quiet?: boolean;
}

const TEXT: Record<TradeoffTopic, { title: string; a: string; b: string }> = {
  routing: {
    title: "Choosing a specialist",
    a: "The orchestrator agent's LLM picks the specialist with a tool call: one extra model round trip before anyone answers.",
    b: "The gateway routes with a local classifier in milliseconds and asks Claude Haiku only when it is unsure.",
  },
  english: {
    title: "English questions",
    a: "The agent hands the question to a second agent session running OpenAI Realtime speech-to-speech, then hands back with the question carried over.",
    b: "The browser already talks to OpenAI Realtime directly, so English needs no handoff; its speech is checked from the transcript as it streams and cut off if it is unsafe.",
  },
  guardrail: {
    title: "The safety check",
    a: "Every sentence is checked inside the agent pipeline before it reaches text-to-speech; the next sentence is checked while this one is spoken.",
    b: "The gateway checks every specialist sentence before streaming its audio; Realtime speech is checked from transcript deltas, so a flagged reply is cancelled mid-way.",
  },
  filler: {
    title: "Waiting for the answer",
    a: "The agent says a short transition sentence while the specialist thinks, so the student is never left in silence.",
    b: "The Realtime voice says a filler (\u201cLet me check that\u201d) while the gateway works; a typed question shows \u201cthinking\u201d until the first checked sentence.",
  },
  teacher: {
    title: "Getting a teacher",
    a: "The teacher joins the student's LiveKit room and can talk to them directly.",
    b: "There is no room to join: the teacher reads the transcript and sends hints to the student's screen.",
  },
  "barge-in": {
    title: "Interrupting the tutor",
    a: "LiveKit's voice activity detection stops the agent inside the room as soon as the student speaks.",
    b: "The browser stops playback at once and cancels the turn on the gateway, which stops generation, checks and speech on whichever replica streams it.",
  },
};

/** How long a student waits for the first checked sentence before a filler is worth explaining. */
export const FILLER_THRESHOLD_MS = 700;

export function moment(topic: TradeoffTopic, variant: Variant, measured: string): TradeoffMoment {
  return { topic, variant, measured, ...TEXT[topic] };
}

export interface TradeoffContext {
  variant: Variant;
  /** Topics already explained in this session (routing is explained once). */
  seen: ReadonlySet<TradeoffTopic>;
}

export interface TradeoffView {
  tradeoff: TradeoffMoment | null;
  tradeoffsSeen: TradeoffTopic[];
  tradeoffHistory: TradeoffMoment[];
}

/** The panel after a moment: shown (and listed first), or for a quiet one, updated in place. */
export function withMoment(view: TradeoffView, m: TradeoffMoment): TradeoffView {
  if (m.quiet) {
    return {
      tradeoff: view.tradeoff?.topic === m.topic ? m : view.tradeoff,
      tradeoffsSeen: view.tradeoffsSeen,
      tradeoffHistory: view.tradeoffHistory.map((earlier) => (earlier.topic === m.topic ? m : earlier)),
    };
  }
  return {
    tradeoff: m,
    tradeoffsSeen: view.tradeoffsSeen.includes(m.topic) ? view.tradeoffsSeen : [...view.tradeoffsSeen, m.topic],
    tradeoffHistory: [m, ...view.tradeoffHistory.filter((earlier) => earlier.topic !== m.topic)].slice(0, 6),
  };
}

/** The moment an event triggers, or null. */
export function tradeoffFor(event: TutorEvent, ctx: TradeoffContext): TradeoffMoment | null {
  const v = ctx.variant;
  switch (event.type) {
    case "routing": {
      const d = event.data;
      if (d.subject === "english") {
        return moment("english", v, `This question was routed to English (confidence ${d.confidence.toFixed(2)}) in ${formatMs(d.latency_ms)}.`);
      }
      const routed = moment(
        "routing",
        v,
        `Routed to ${subjectLabel(d.subject)} by the ${d.stage} stage (${d.strategy}) in ${formatMs(d.latency_ms)}, confidence ${d.confidence.toFixed(2)}.`,
      );
      // Explained once; later questions only keep its figures current ("Just now" stays true).
      return ctx.seen.has("routing") ? { ...routed, quiet: true } : routed;
    }
    case "handoff":
      return moment("english", v, `Handoff ${event.data.from_agent} → ${event.data.to_agent} (${event.data.mode.replace("_", " ")}).`);
    case "guardrail": {
      const d = event.data;
      if (d.action === "allow") return null;
      const what = d.direction === "input" ? "Your message" : "A tutor sentence";
      const verb = { rewrite: "was rewritten", block: "was blocked", escalate: "was stopped and a teacher asked" }[d.action];
      return moment(
        "guardrail",
        v,
        `${what} ${verb}${d.category ? ` (${d.category}, score ${d.score.toFixed(2)})` : ""}${d.fail_closed ? ", failing closed" : ""}.`,
      );
    }
    case "escalation":
      return moment("teacher", v, `A teacher was asked to help (raised by the ${event.data.source}).`);
    case "done":
      return fillerMoment(event.data.latency_ms, v, ctx);
    default:
      return null;
  }
}

function fillerMoment(latencies: StageLatencies, variant: Variant, ctx: TradeoffContext): TradeoffMoment | null {
  const first = latencies.first_sentence;
  if (first === undefined || first < FILLER_THRESHOLD_MS || ctx.seen.has("filler")) return null;
  const parts = [`The first checked sentence took ${formatMs(first)}`];
  if (latencies.routing !== undefined) parts.push(`routing ${formatMs(latencies.routing)}`);
  if (latencies.first_token !== undefined) parts.push(`first model token ${formatMs(latencies.first_token)}`);
  if (latencies.first_audio !== undefined) parts.push(`first audio ${formatMs(latencies.first_audio)}`);
  return moment("filler", variant, `${parts.join("; ")}.`);
}

/** Barge-in is a client action, measured on the client: audio cut, then the server's confirmation. */
export function bargeInMoment(variant: Variant, audioStopMs: number, cancelConfirmMs: number | null): TradeoffMoment {
  const server = cancelConfirmMs === null ? "the server had already finished" : `the gateway confirmed the cancel in ${formatMs(cancelConfirmMs)}`;
  return moment("barge-in", variant, `Audio stopped in ${formatMs(audioStopMs)}; ${server}.`);
}
