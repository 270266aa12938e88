// @vitest-environment jsdom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AbReport, Estimate } from "../src/api/types";
import { AbReportView } from "../src/components/AbReportView";
import { formatEstimate } from "../src/lib/format";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const est = (value: number | null, low: number | null, high: number | null, n: number): Estimate => ({
  value,
  ci_low: low,
  ci_high: high,
  n,
});

function report(enough: boolean): AbReport {
  return {
    deployment: "tutor-prod",
    enough_data: enough,
    min_sessions: 30,
    verdict: enough
      ? "Clear differences: Typical response time (p50): B is clearly faster by 110 ms ± 40 ms."
      : "Not enough sessions yet: A has 4, B has 0; each needs at least 30 before the comparison means anything.",
    findings: enough ? ["Typical response time (p50): B is clearly faster by 110 ms ± 40 ms."] : [],
    variants: [
      {
        variant: "A",
        sessions: 40,
        turns: 310,
        latency_p50_ms: est(840, 800, 890, 40),
        latency_p95_ms: est(1900, 1700, 2150, 40),
        cost_per_session_usd: est(0.0412, 0.035, 0.048, 40),
        escalation_rate: est(0.05, 0.014, 0.165, 40),
        guardrail_block_rate: est(0.004, 0.001, 0.012, 900),
      },
      {
        variant: "B",
        sessions: enough ? 38 : 0,
        turns: enough ? 280 : 0,
        latency_p50_ms: enough ? est(730, 700, 770, 38) : est(null, null, null, 0),
        latency_p95_ms: enough ? est(1500, 1400, 1650, 38) : est(null, null, null, 0),
        cost_per_session_usd: enough ? est(0.07, 0.06, 0.08, 38) : est(null, null, null, 0),
        escalation_rate: enough ? est(0.026, 0.005, 0.135, 38) : est(null, null, null, 0),
        guardrail_block_rate: enough ? est(0.003, null, null, 700) : est(null, null, null, 0),
      },
    ],
  };
}

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement("div");
  document.body.appendChild(host);
  root = createRoot(host);
});

afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

const text = (testId: string) => host.querySelector(`[data-testid="${testId}"]`)?.textContent ?? "";

describe("A/B report", () => {
  it("states the plain-language verdict and every figure with its 95% interval", () => {
    act(() => root.render(<AbReportView report={report(true)} />));
    expect(text("ab-verdict")).toBe("Verdict: Clear differences: Typical response time (p50): B is clearly faster by 110 ms ± 40 ms.");
    expect(host.querySelector(".verdict-ready")).not.toBeNull();
    expect(text("metric-latency_p50_ms")).toContain("840 ms (95% CI 800 ms – 890 ms, n = 40)");
    expect(text("metric-latency_p50_ms")).toContain("730 ms (95% CI 700 ms – 770 ms, n = 38)");
    expect(text("metric-cost_per_session_usd")).toContain("$0.04 (95% CI $0.04 – $0.05, n = 40)");
    expect(text("metric-escalation_rate")).toContain("5.0% (95% CI 1.4% – 17%, n = 40)");
    expect(text("metric-guardrail_block_rate")).toContain("0.3% (n = 700; too few for an interval)");
    expect(text("sessions-A")).toBe("40 (310)");
    expect(host.querySelectorAll("[data-testid=ab-findings] li")).toHaveLength(1);
    const chart = host.querySelector("[data-testid=metric-latency_p50_ms] svg");
    expect(chart?.getAttribute("aria-label")).toContain("A 840 ms");
  });

  it("says a variant has no data yet instead of inventing numbers", () => {
    act(() => root.render(<AbReportView report={report(false)} />));
    expect(text("ab-verdict")).toContain("Not enough sessions yet");
    expect(host.querySelector(".verdict-wait")).not.toBeNull();
    expect(text("metric-latency_p95_ms")).toContain("no data yet");
    expect(text("sessions-B")).toBe("0 (0)");
    expect(text("ab-report")).toContain("at least 30 sessions");
  });

  it("formats estimates for each unit", () => {
    expect(formatEstimate(est(0.1234, 0.1, 0.15, 12), "rate")).toBe("12% (95% CI 10% – 15%, n = 12)");
    expect(formatEstimate(est(12500, 11000, 14000, 5), "ms")).toBe("13 s (95% CI 11 s – 14 s, n = 5)");
    expect(formatEstimate(est(null, null, null, 0), "usd")).toBe("no data yet");
  });
});
