/**
 * The teacher's live escalation feed: `GET /api/teacher/escalations/stream` (Server-Sent Events).
 *
 * The gateway replays every escalation after the last id a client saw, then streams new ones. The
 * browser's EventSource resends that id (Last-Event-ID) when it reconnects by itself; when it gives
 * up (the gateway answered with an error while restarting) a new EventSource is opened with
 * `?since=<last id>`. Replays overlap on purpose, so the store drops every id it already holds:
 * nothing is shown twice and nothing is missed.
 */
import type { Escalation } from "./types";

export type FeedStatus = "connecting" | "live" | "reconnecting";

/** Escalations by id, newest first; `add` says whether the id was new. */
export class EscalationStore {
  private readonly byId = new Map<number, Escalation>();
  lastId = 0;

  add(escalation: Escalation): boolean {
    const known = this.byId.get(escalation.id);
    this.lastId = Math.max(this.lastId, escalation.id);
    if (known) {
      if (known.status !== escalation.status) this.byId.set(escalation.id, { ...known, ...escalation });
      return false;
    }
    this.byId.set(escalation.id, escalation);
    return true;
  }

  update(escalation: Escalation): void {
    this.byId.set(escalation.id, { ...this.byId.get(escalation.id), ...escalation });
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  get size(): number {
    return this.byId.size;
  }

  list(): Escalation[] {
    return [...this.byId.values()].sort((a, b) => b.id - a.id);
  }
}

/** The subset of EventSource the feed uses (so tests can drive it without a browser). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((this: EventSourceLike, ev: Event) => unknown) | null;
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

const CLOSED = 2;

export interface FeedOptions {
  url: string;
  onEscalation: (escalation: Escalation, isNew: boolean) => void;
  onStatus?: (status: FeedStatus) => void;
  createEventSource?: EventSourceFactory;
  /** Delay before reopening after the browser gave up; doubles up to `maxReopenMs`. */
  reopenMs?: number;
  maxReopenMs?: number;
  store?: EscalationStore;
}

export class EscalationFeed {
  readonly store: EscalationStore;
  private source: EventSourceLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delay: number;
  private stopped = false;
  private readonly create: EventSourceFactory;

  constructor(private readonly options: FeedOptions) {
    this.store = options.store ?? new EscalationStore();
    this.delay = options.reopenMs ?? 1000;
    this.create =
      options.createEventSource ?? ((url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike);
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
  }

  /** The URL of the next (re)open: resumes after the newest id held. */
  nextUrl(): string {
    const last = this.store.lastId;
    if (!last) return this.options.url;
    const join = this.options.url.includes("?") ? "&" : "?";
    return `${this.options.url}${join}since=${last}`;
  }

  private status(status: FeedStatus): void {
    this.options.onStatus?.(status);
  }

  private open(): void {
    this.status(this.store.lastId ? "reconnecting" : "connecting");
    const source = this.create(this.nextUrl());
    this.source = source;
    source.onopen = () => {
      this.delay = this.options.reopenMs ?? 1000;
      this.status("live");
    };
    source.addEventListener("escalation", (ev: MessageEvent) => {
      let escalation: Escalation;
      try {
        escalation = JSON.parse(String(ev.data)) as Escalation;
      } catch {
        return;
      }
      if (typeof escalation.id !== "number") {
        const fromId = Number(ev.lastEventId);
        if (!Number.isFinite(fromId)) return;
        escalation = { ...escalation, id: fromId };
      }
      const isNew = this.store.add(escalation);
      this.options.onEscalation(escalation, isNew);
    });
    source.addEventListener("reconnect", () => this.status("reconnecting"));
    source.onerror = () => {
      if (this.stopped || source !== this.source) return;
      this.status("reconnecting");
      if (source.readyState === CLOSED) this.reopenLater();
    };
  }

  private reopenLater(): void {
    this.source?.close();
    this.source = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, this.options.maxReopenMs ?? 15000);
  }
}
