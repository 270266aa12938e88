import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EscalationFeed, EscalationStore, type EventSourceLike } from "../src/api/escalationFeed";
import type { Escalation } from "../src/api/types";

function escalation(id: number, status: Escalation["status"] = "open"): Escalation {
  return {
    id,
    session_id: "00000000-0000-4000-8000-000000000001",
    student_id: "00000000-0000-4000-8000-000000000002",
    student_name: "Alex",
    reason: `reason ${id}`,
    source: "student",
    status,
  };
}

/** Plays the part of the browser's EventSource: the test delivers events and errors. */
class ScriptedSource implements EventSourceLike {
  readyState = 0;
  onopen: EventSourceLike["onopen"] = null;
  onerror: EventSourceLike["onerror"] = null;
  closed = false;
  private listeners = new Map<string, Array<(ev: MessageEvent) => void>>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.call(this, new Event("open"));
  }
  deliver(e: Escalation): void {
    const ev = new MessageEvent("escalation", { data: JSON.stringify(e), lastEventId: String(e.id) });
    for (const l of this.listeners.get("escalation") ?? []) l(ev);
  }
  fail(permanently: boolean): void {
    this.readyState = permanently ? 2 : 0;
    this.onerror?.call(this, new Event("error"));
  }
}

describe("EscalationStore", () => {
  it("keeps each id once, newest first, and takes status updates", () => {
    const store = new EscalationStore();
    expect(store.add(escalation(1))).toBe(true);
    expect(store.add(escalation(2))).toBe(true);
    expect(store.add(escalation(1))).toBe(false);
    expect(store.add(escalation(1, "acknowledged"))).toBe(false);
    expect(store.list().map((e) => [e.id, e.status])).toEqual([
      [2, "open"],
      [1, "acknowledged"],
    ]);
    expect(store.lastId).toBe(2);
  });
});

describe("EscalationFeed", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("shows nothing twice across a replay and resumes after the last id when the browser gives up", () => {
    const sources: ScriptedSource[] = [];
    const shown: number[] = [];
    const statuses: string[] = [];
    const feed = new EscalationFeed({
      url: "/api/teacher/escalations/stream",
      createEventSource: (url) => {
        const s = new ScriptedSource(url);
        sources.push(s);
        return s;
      },
      onEscalation: (e, isNew) => isNew && shown.push(e.id),
      onStatus: (s) => statuses.push(s),
      reopenMs: 1000,
    });
    feed.start();
    expect(sources[0].url).toBe("/api/teacher/escalations/stream");
    sources[0].open();
    sources[0].deliver(escalation(5));
    sources[0].deliver(escalation(6));

    // A transient drop: the browser reconnects by itself (with Last-Event-ID) and replays 6 again.
    sources[0].fail(false);
    expect(sources).toHaveLength(1);
    sources[0].open();
    sources[0].deliver(escalation(6));
    sources[0].deliver(escalation(7));

    // The gateway restarts and answers with an error: the browser closes for good; the feed reopens.
    sources[0].fail(true);
    vi.advanceTimersByTime(999);
    expect(sources).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sources).toHaveLength(2);
    expect(sources[1].url).toBe("/api/teacher/escalations/stream?since=7");
    sources[1].open();
    sources[1].deliver(escalation(7));
    sources[1].deliver(escalation(8));

    expect(shown).toEqual([5, 6, 7, 8]);
    expect(feed.store.list().map((e) => e.id)).toEqual([8, 7, 6, 5]);
    expect(statuses).toEqual(["connecting", "live", "reconnecting", "live", "reconnecting", "reconnecting", "live"]);
    feed.stop();
    expect(sources[1].closed).toBe(true);
  });

  it("backs off between reopen attempts and stops retrying once stopped", () => {
    const sources: ScriptedSource[] = [];
    const feed = new EscalationFeed({
      url: "/feed",
      createEventSource: (url) => {
        const s = new ScriptedSource(url);
        sources.push(s);
        return s;
      },
      onEscalation: () => undefined,
      reopenMs: 100,
      maxReopenMs: 300,
    });
    feed.start();
    sources[0].fail(true);
    vi.advanceTimersByTime(100);
    sources[1].fail(true);
    vi.advanceTimersByTime(199);
    expect(sources).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sources).toHaveLength(3);
    feed.stop();
    sources[2].fail(true);
    vi.advanceTimersByTime(10_000);
    expect(sources).toHaveLength(3);
  });
});
