import { describe, expect, it } from "vitest";
import type { TutorEvent } from "../src/api/turnEvents";
import { activeStep, flowReducer, initialFlow } from "../src/lib/flow";
import { FILLER_THRESHOLD_MS, tradeoffFor, withMoment } from "../src/lib/tradeoffs";

const turn: TutorEvent = { type: "turn", data: { turn_id: "t1", turn_index: 0, session_id: "s" } };
const routing: TutorEvent = {
  type: "routing",
  data: { subject: "math", confidence: 0.97, stage: "local", strategy: "two_stage", latency_ms: 0.4 },
};
const sentence = (index: number): TutorEvent => ({ type: "sentence", data: { index, text: "7 times 8 is 56.", action: "allow" } });
const audio: TutorEvent = { type: "audio", data: { index: 0, seq: 0, sample_rate: 24000, pcm: "" } };
const done = (first_sentence: number): TutorEvent => ({
  type: "done",
  data: {
    turn_id: "t1",
    turn_index: 0,
    outcome: "completed",
    cancelled: false,
    latency_ms: { input_check: 40, routing: 41, first_token: 200, first_sentence, first_audio: first_sentence + 50, total: 900 },
    usage: [],
    sentences: 2,
  },
});

function run(events: TutorEvent[], variant: "A" | "B" = "B") {
  return events.reduce(flowReducer, initialFlow(variant));
}

describe("flow reducer", () => {
  it("walks the steps in order as the gateway's events arrive", () => {
    expect(activeStep(run([turn]))).toBe("input");
    expect(activeStep(run([turn, routing]))).toBe("specialist");
    expect(activeStep(run([turn, routing, sentence(0)]))).toBe("guardrail");
    const speaking = run([turn, routing, sentence(0), audio, sentence(1)]);
    expect(activeStep(speaking)).toBe("tts");
    expect(speaking.steps.find((s) => s.id === "guardrail")?.detail).toBe("2 sentences checked · nothing flagged");
    const finished = run([turn, routing, sentence(0), audio, done(300)]);
    expect(finished.outcome).toBe("completed");
    expect(finished.steps.map((s) => s.status)).toEqual(["done", "done", "done", "done", "done"]);
    expect(finished.steps.map((s) => s.latencyMs)).toEqual([40, 41, 200, 300, 350]);
    expect(finished.steps[1].detail).toContain("Maths · confidence 0.97 · local stage");
  });

  it("shows a stopped student message as blocked, with routing skipped", () => {
    const flagged = run([
      turn,
      { type: "guardrail", data: { direction: "input", action: "escalate", category: "self-harm", score: 0.93, fail_closed: false } },
      { type: "escalation", data: { source: "guardrail" } },
      sentence(0),
      done(80),
    ]);
    expect(flagged.steps.map((s) => s.status)).toEqual(["blocked", "skipped", "skipped", "done", "skipped"]);
    expect(flagged.steps[0].detail).toBe("escalate (self-harm)");
    expect(flagged.escalated).toBe(true);
  });

  it("counts the sentences the guardrail silenced as repeats of a safe line", () => {
    const block = { type: "guardrail", data: { direction: "output", action: "block", category: null, score: 0, fail_closed: true } } as TutorEvent;
    const blocked = run([turn, routing, block, sentence(0), block, block]);
    expect(blocked.steps.find((s) => s.id === "guardrail")?.detail).toBe(
      "1 sentence checked · 3 blocked · all failed closed (guardrail unavailable)",
    );
    const finished = flowReducer(blocked, { ...done(300), data: { ...(done(300).data as object), sentences: 1, checked: 3 } } as TutorEvent);
    expect(finished.steps.find((s) => s.id === "guardrail")?.detail).toMatch(/^3 sentences checked · 3 blocked · all failed closed/);
  });

  it("counts rewritten output sentences and follows version A's agent state steps", () => {
    const rewritten = run([
      turn,
      routing,
      { type: "guardrail", data: { direction: "output", action: "rewrite", category: "violence", score: 0.7, fail_closed: false } },
      sentence(0),
    ]);
    expect(rewritten.steps.find((s) => s.id === "guardrail")?.detail).toBe("1 sentence checked · 1 rewritten");
    const a = run([{ type: "state", data: { agent_state: "thinking", step: "orchestrator" } }], "A");
    expect(a.steps[1]).toMatchObject({ label: "Orchestrator", status: "active" });
  });
});

describe("trade-off moments", () => {
  const ctx = { variant: "B" as const, seen: new Set<never>() };

  it("explains routing once, with the measured routing time", () => {
    const moment = tradeoffFor(routing, ctx);
    expect(moment?.topic).toBe("routing");
    expect(moment?.measured).toContain("0.4 ms");
  });

  it("keeps the routing explanation current without opening it again", () => {
    const first = tradeoffFor(routing, ctx)!;
    const shown = withMoment({ tradeoff: null, tradeoffsSeen: [], tradeoffHistory: [] }, first);
    expect(shown.tradeoff?.measured).toContain("Routed to Maths");
    expect(shown.tradeoffsSeen).toEqual(["routing"]);
    const history = { type: "routing", data: { ...(routing.data as object), subject: "history", latency_ms: 0.6 } } as TutorEvent;
    const later = tradeoffFor(history, { variant: "B", seen: new Set(shown.tradeoffsSeen) })!;
    expect(later.quiet).toBe(true);
    // Still on screen: "Just now" shows the latest question, not the first one.
    const updated = withMoment(shown, later);
    expect(updated.tradeoff?.measured).toContain("Routed to History");
    expect(updated.tradeoffHistory.map((m) => m.measured)).toEqual([later.measured]);
    // Hidden: it stays hidden, and opening it again from the list shows the latest figures.
    const hidden = withMoment({ ...shown, tradeoff: null }, later);
    expect(hidden.tradeoff).toBeNull();
    expect(hidden.tradeoffHistory[0].measured).toContain("0.6 ms");
  });

  it("explains English, guardrail actions and escalations when they happen", () => {
    const english = tradeoffFor({ type: "routing", data: { ...(routing.data as object), subject: "english" } } as TutorEvent, ctx);
    expect(english?.topic).toBe("english");
    const blocked = tradeoffFor(
      { type: "guardrail", data: { direction: "output", action: "block", category: "violence", score: 0.91, fail_closed: true } },
      ctx,
    );
    expect(blocked?.measured).toBe("A tutor sentence was blocked (violence, score 0.91), failing closed.");
    expect(tradeoffFor({ type: "guardrail", data: { direction: "output", action: "allow", category: null, score: 0, fail_closed: false } }, ctx)).toBeNull();
    expect(tradeoffFor({ type: "escalation", data: { source: "router" } }, ctx)?.topic).toBe("teacher");
  });

  it("explains the filler only when the first sentence was slow", () => {
    expect(tradeoffFor(done(FILLER_THRESHOLD_MS - 1), ctx)).toBeNull();
    const slow = tradeoffFor(done(1200), ctx);
    expect(slow?.topic).toBe("filler");
    expect(slow?.measured).toContain("1.2 s");
  });
});
