/**
 * The student's tutoring session: start (A/B assignment), typed and voice turns, audio playback
 * with barge-in, the live channel (hints, teacher presence), escalation, and the end summary.
 *
 * Every turn on the gateway streams the same events the version-A agent publishes in its room, so
 * both variants drive the transcript, the flow view and the trade-off panel through one handler.
 */
import { ApiError, type ApiClient, describeFailure } from "../api/http";
import { reportError, reportEvent } from "../api/telemetry";
import type { TutorEvent } from "../api/turnEvents";
import { toTutorEvent } from "../api/turnEvents";
import { cancelTurn, streamTurn, type TurnRequest } from "../api/turns";
import type { PublicConfig, Variant } from "../api/types";
import { audioContext } from "../audio/audioUnlock";
import { PcmPlayer } from "../audio/pcmPlayer";
import { flowReducer, initialFlow } from "../lib/flow";
import { normaliseSpeaker, type Speaker, speakerForSubject } from "../lib/speakers";
import { Store } from "../lib/store";
import { bargeInMoment, type TradeoffMoment, tradeoffFor, withMoment } from "../lib/tradeoffs";
import { EVENTS_TOPIC, LiveKitVoice, TRANSCRIPT_TOPIC } from "../voice/livekitVoice";
import { RealtimeVoice, type RealtimeServerEvent } from "../voice/realtimeVoice";
import { type AgentState, initialStudentState, type StudentState, type TranscriptEntry } from "./sessionState";

let counter = 0;
const nextId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

interface ActiveTurn {
  turnId: string | null;
  generation: number;
  entryId: string | null;
  speaker: Speaker;
  abort: AbortController;
  done: boolean;
}

interface RealtimeReply {
  entryId: string;
  pending: string;
  posted: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

export class StudentSession {
  readonly store = new Store<StudentState>(initialStudentState());
  private readonly player: PcmPlayer;
  private turn: ActiveTurn | null = null;
  private events: EventSource | null = null;
  private realtime: RealtimeVoice | null = null;
  private livekit: LiveKitVoice | null = null;
  private readonly replies = new Map<string, RealtimeReply>();

  constructor(
    private readonly client: ApiClient,
    private readonly config: PublicConfig,
  ) {
    this.player = new PcmPlayer(() => audioContext(), {
      onPlayingChange: (playing) => {
        this.realtime?.muteOutput(playing);
        this.setAgentState(playing ? "speaking" : this.restingState());
      },
    });
  }

  /** Start following the page (online/offline); the returned function stops everything. */
  attach(): () => void {
    const online = () => this.store.set({ online: true });
    const offline = () => this.store.set({ online: false });
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    return () => {
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
      this.dispose();
    };
  }

  get state(): StudentState {
    return this.store.get();
  }

  // --- session lifecycle ----------------------------------------------------------------------

  async start(override: Variant | null = null): Promise<void> {
    if (this.state.phase === "starting" || this.state.phase === "active") return;
    this.store.set({ ...initialStudentState(), phase: "starting", online: this.state.online });
    let session;
    try {
      session = await this.client.post("/api/sessions", {
        body: { client: { screen: `${window.innerWidth}x${window.innerHeight}`, touch: "ontouchstart" in window } },
        query: override ? { variant: override } : undefined,
      });
    } catch (error) {
      const message = describeFailure(error);
      const unavailable = error instanceof ApiError && error.status === 503 && /unavailable|no version/i.test(message);
      this.store.set({
        phase: "idle",
        error: unavailable ? null : message,
        unavailable: unavailable ? friendlyUnavailable(message) : null,
      });
      return;
    }
    this.store.set({ phase: "active", session, flow: initialFlow(session.variant), agentState: "idle" });
    reportEvent("session.started", { variant: session.variant, reason: session.assignment_reason }, { sessionId: session.session_id });
    this.openLiveChannel(session.session_id);
    void this.startVoice();
  }

  async end(): Promise<void> {
    const session = this.state.session;
    if (!session || this.state.phase !== "active") return;
    this.store.set({ phase: "ending" });
    await this.bargeIn(false);
    this.stopVoice();
    this.closeLiveChannel();
    try {
      const summary = await this.client.post("/api/sessions/{session_id}/close", {
        path: { session_id: session.session_id },
        body: {},
      });
      this.store.set({ phase: "ended", summary, agentState: "idle" });
      reportEvent("session.ended", { variant: session.variant }, { sessionId: session.session_id });
    } catch (error) {
      this.store.set({ phase: "active", error: `The session could not be closed: ${describeFailure(error)}` });
    }
  }

  dispose(): void {
    this.turn?.abort.abort();
    this.player.stop();
    this.stopVoice();
    this.closeLiveChannel();
    for (const reply of this.replies.values()) if (reply.timer) clearTimeout(reply.timer);
  }

  dismissError(): void {
    this.store.set({ error: null });
  }

  dismissTradeoff(): void {
    this.store.set({ tradeoff: null });
  }

  // --- turns ----------------------------------------------------------------------------------

  /** A typed (or tapped) question. On version A with a live room it goes to the agent itself. */
  async ask(text: string, request: Partial<TurnRequest> = {}): Promise<void> {
    const session = this.state.session;
    const question = text.trim();
    if (!session || this.state.phase !== "active" || !question) return;
    if (this.turn && !this.turn.done) await this.bargeIn(true);
    if (session.variant === "A" && this.livekit?.connected && !request.source) {
      try {
        if (await this.livekit.sendText(question)) {
          this.setAgentState("thinking");
          return;
        }
      } catch {
        // fall through to the gateway
      }
    }
    await this.gatewayTurn(session.session_id, { text: question, speak: true, source: "typed", ...request });
  }

  private async gatewayTurn(sessionId: string, request: TurnRequest): Promise<string> {
    this.addEntry("student", request.text);
    const turn: ActiveTurn = {
      turnId: null,
      generation: this.player.generation,
      entryId: null,
      speaker: "orchestrator",
      abort: new AbortController(),
      done: false,
    };
    this.turn = turn;
    this.store.set({ turnActive: true, error: null });
    this.setAgentState("thinking");
    const spoken: string[] = [];
    try {
      await streamTurn(
        this.client,
        sessionId,
        request,
        (event) => {
          if (this.turn !== turn) return;
          if (event.type === "sentence") spoken.push(event.data.text);
          this.onTurnEvent(event, turn);
        },
        turn.abort.signal,
      );
    } catch (error) {
      if (!turn.abort.signal.aborted) {
        const message = describeFailure(error);
        this.addEntry("system", message);
        if (!(error instanceof ApiError)) reportError(error, "turn.stream", { session_id: sessionId });
      }
    } finally {
      turn.done = true;
      if (this.turn === turn) {
        this.store.set({ turnActive: false });
        this.setAgentState(this.player.playing ? "speaking" : this.restingState());
      }
    }
    return spoken.join(" ");
  }

  /** Stop the tutor now: audio first (the student hears silence at once), then the server turn. */
  async bargeIn(explain = true): Promise<void> {
    const session = this.state.session;
    const turn = this.turn;
    const t0 = performance.now();
    const cut = this.player.stop();
    const audioStopMs = performance.now() - t0;
    if (this.realtime) {
      this.realtime.send({ type: "response.cancel" });
      this.realtime.send({ type: "output_audio_buffer.clear" });
    }
    if (!session || !turn || turn.done) {
      if (cut && explain) this.showTradeoff(bargeInMoment(session?.variant ?? "B", audioStopMs, null));
      return;
    }
    let confirmMs: number | null = null;
    if (turn.turnId) {
      const t1 = performance.now();
      try {
        const cancelled = await cancelTurn(this.client, session.session_id, turn.turnId);
        confirmMs = cancelled ? performance.now() - t1 : null;
      } catch {
        confirmMs = null;
      }
    }
    turn.abort.abort();
    turn.done = true;
    this.store.set({ turnActive: false });
    this.markEntry(turn.entryId, "interrupted");
    this.setAgentState(this.restingState());
    if (explain) this.showTradeoff(bargeInMoment(session.variant, audioStopMs, confirmMs));
  }

  private onTurnEvent(event: TutorEvent, turn: ActiveTurn | null): void {
    this.store.set((s) => ({ flow: flowReducer(s.flow, event) }));
    const session = this.state.session;
    if (session) {
      const moment = tradeoffFor(event, { variant: session.variant, seen: new Set(this.state.tradeoffsSeen) });
      if (moment) this.showTradeoff(moment);
    }
    switch (event.type) {
      case "turn":
        if (turn) turn.turnId = event.data.turn_id;
        this.store.set({ routing: null });
        break;
      case "routing":
        this.store.set({ routing: event.data });
        if (turn) turn.speaker = speakerForSubject(event.data.subject);
        break;
      case "guardrail": {
        const d = event.data;
        if (d.action === "allow") break;
        const note = d.action === "rewrite" ? "rewritten for safety" : d.action === "block" ? "blocked for safety" : "teacher asked";
        if (d.direction === "input") this.markLastStudent(`${note}${d.category ? ` · ${d.category}` : ""}`);
        break;
      }
      case "sentence": {
        const d = event.data;
        if (!turn) break;
        const note = d.action === "allow" ? null : d.action === "rewrite" ? "rewritten for safety" : "safe replacement";
        if (!turn.entryId) turn.entryId = this.addEntry(turn.speaker, d.text, false, note ? [note] : []);
        else this.appendEntry(turn.entryId, d.text, note);
        break;
      }
      case "audio":
        if (turn) this.player.enqueue(event.data.pcm, event.data.sample_rate, turn.generation);
        break;
      case "escalation":
        this.store.set({
          escalation: { status: "open", message: event.data.message ?? "A teacher has been asked to help you.", teacher: null },
        });
        break;
      case "done": {
        const d = event.data;
        if (turn?.entryId) this.finishEntry(turn.entryId);
        this.store.set({ lastLatencies: d.latency_ms });
        reportEvent(
          "turn.done",
          { outcome: d.outcome, sentences: d.sentences, first_sentence_ms: d.latency_ms.first_sentence ?? -1, variant: session?.variant ?? "" },
          { sessionId: session?.session_id, durationMs: d.latency_ms.total },
        );
        break;
      }
      case "error":
        this.addEntry("system", event.data.message);
        break;
      case "state":
        this.setAgentState(toAgentState(event.data.agent_state));
        if (event.data.teacher_present !== undefined) {
          this.store.set((s) => ({ teacherPresent: event.data.teacher_present ? (s.teacherPresent ?? "Your teacher") : null }));
        }
        break;
      default:
        break;
    }
  }

  // --- teacher --------------------------------------------------------------------------------

  async askTeacher(reason = "I would like a teacher to help me."): Promise<void> {
    const session = this.state.session;
    if (!session || this.state.phase !== "active") return;
    this.store.set({ escalation: { status: "asking", message: "Asking a teacher…", teacher: null } });
    try {
      const result = await this.client.post("/api/sessions/{session_id}/escalate", {
        path: { session_id: session.session_id },
        body: { reason },
      });
      this.store.set({
        escalation: {
          status: "open",
          message: result.queued
            ? "Your request is saved and will reach a teacher as soon as possible."
            : "A teacher has been asked to help you. They will see your conversation.",
          teacher: null,
        },
      });
      const moment = tradeoffFor(
        { type: "escalation", data: { source: "student" } },
        { variant: session.variant, seen: new Set(this.state.tradeoffsSeen) },
      );
      if (moment) this.showTradeoff(moment);
    } catch (error) {
      this.store.set({
        escalation: { status: "none", message: null, teacher: null },
        error: `A teacher could not be asked: ${describeFailure(error)}`,
      });
    }
  }

  private openLiveChannel(sessionId: string): void {
    this.closeLiveChannel();
    const source = new EventSource(this.client.url(`/api/sessions/${encodeURIComponent(sessionId)}/events`), { withCredentials: true });
    this.events = source;
    this.store.set({ liveChannel: "connecting" });
    source.addEventListener("ready", () => this.store.set({ liveChannel: "live" }));
    source.onopen = () => this.store.set({ liveChannel: "live" });
    source.onerror = () => {
      if (this.events !== source) return;
      this.store.set({ liveChannel: "reconnecting" });
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          if (this.events === source && this.state.phase === "active") this.openLiveChannel(sessionId);
        }, 2000);
      }
    };
    const json = (ev: MessageEvent): Record<string, unknown> => {
      try {
        return JSON.parse(String(ev.data)) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    source.addEventListener("hint", (ev) => {
      const data = json(ev as MessageEvent);
      const text = String(data.text ?? "");
      if (!text) return;
      const teacher = String(data.teacher ?? "Your teacher");
      this.store.set((s) => ({
        hints: [...s.hints, { id: nextId("hint"), text, teacher, at: Date.now() }],
        teacherPresent: s.teacherPresent ?? teacher,
      }));
      this.addEntry("teacher", text, true, [`hint from ${teacher}`]);
    });
    source.addEventListener("teacher_ack", (ev) => {
      const teacher = String(json(ev as MessageEvent).teacher ?? "Your teacher");
      this.store.set({
        escalation: { status: "acknowledged", message: `${teacher} has seen your request and is on it.`, teacher },
        teacherPresent: teacher,
      });
    });
    source.addEventListener("teacher_joined", (ev) => {
      const teacher = String(json(ev as MessageEvent).teacher ?? "Your teacher");
      this.store.set({ teacherPresent: teacher });
    });
    source.addEventListener("escalation", (ev) => {
      const data = json(ev as MessageEvent);
      this.store.set((s) =>
        s.escalation.status === "acknowledged"
          ? {}
          : { escalation: { status: "open", message: String(data.message ?? "A teacher has been asked to help."), teacher: null } },
      );
    });
  }

  private closeLiveChannel(): void {
    this.events?.close();
    this.events = null;
    this.store.set({ liveChannel: "off" });
  }

  // --- voice ----------------------------------------------------------------------------------

  private async startVoice(): Promise<void> {
    const session = this.state.session;
    if (!session) return;
    if (session.variant === "B") {
      if (!session.realtime) {
        this.setVoice({ kind: "realtime", status: "unavailable", message: "Voice is not available for this session. Type your questions below." });
        return;
      }
      const callsUrl = this.config.realtime_calls_url;
      if (!callsUrl) {
        this.setVoice({ kind: "realtime", status: "unavailable", message: "Voice is not set up on this server. Type your questions below." });
        return;
      }
      const realtime = new RealtimeVoice({
        clientSecret: session.realtime.client_secret,
        model: session.realtime.model,
        callsUrl,
        onEvent: (event) => void this.onRealtimeEvent(event),
        onStatus: (status, message) => {
          this.setVoice({
            status: status === "closed" ? "off" : status,
            message: message ?? null,
            micOn: status === "connected" ? (this.realtime?.micEnabled ?? true) : this.state.voice.micOn,
          });
          // Voice may connect while a typed turn is thinking or speaking: that state stays.
          if (status === "connected") this.setAgentState(this.player.playing ? "speaking" : this.restingState());
        },
      });
      this.realtime = realtime;
      this.setVoice({ kind: "realtime", status: "connecting", message: null, micOn: true });
      await realtime.start();
      return;
    }
    if (!session.livekit) {
      this.setVoice({ kind: "livekit", status: "unavailable", message: "Version A is unavailable: no LiveKit server is configured here." });
      return;
    }
    const livekit = new LiveKitVoice(session.livekit.url, session.livekit.token, {
      onStatus: (status, message) => this.setVoice({ status: status === "disconnected" ? "off" : status, message: message ?? null }),
      onData: (topic, message) => this.onRoomData(topic, message),
      onParticipants: (names) => {
        const teacher = names.find((n) => /teacher|ms\.|mr\./i.test(n));
        if (teacher) this.store.set({ teacherPresent: teacher });
      },
      onAgentState: (state) => this.setAgentState(toAgentState(state)),
    });
    this.livekit = livekit;
    this.setVoice({ kind: "livekit", status: "connecting", message: null, micOn: true });
    await livekit.connect(true);
  }

  /** Connect voice again after it closed or failed. Version B first gets a fresh Realtime key:
   * the one issued at the start lives minutes, and a dropped call needs a valid one. */
  async restartVoice(): Promise<void> {
    const session = this.state.session;
    if (!session || this.state.phase !== "active") return;
    this.stopVoice();
    if (session.variant === "B" && session.realtime) {
      this.setVoice({ kind: "realtime", status: "connecting", message: null });
      try {
        const realtime = await this.client.post("/api/sessions/{session_id}/realtime/key", {
          path: { session_id: session.session_id },
        });
        const current = this.state.session;
        if (current?.session_id !== session.session_id || this.state.phase !== "active") return;
        this.store.set({ session: { ...current, realtime } });
      } catch (error) {
        this.setVoice({ status: "error", message: `Voice could not connect: ${describeFailure(error)}. You can keep typing.` });
        return;
      }
    }
    await this.startVoice();
  }

  private stopVoice(): void {
    this.realtime?.stop();
    this.realtime = null;
    void this.livekit?.disconnect();
    this.livekit = null;
    this.setVoice({ status: "off", micOn: false });
  }

  async toggleMic(): Promise<void> {
    const on = !this.state.voice.micOn;
    if (this.realtime) this.realtime.setMic(on);
    else if (this.livekit) await this.livekit.setMic(on).catch(() => undefined);
    else return;
    this.setVoice({ micOn: on });
    this.setAgentState(on ? "listening" : this.restingState());
  }

  /** Version A: the agent's flow events and transcript arrive on the room's data topics. */
  private onRoomData(topic: string, message: unknown): void {
    if (!message || typeof message !== "object") return;
    const data = message as Record<string, unknown>;
    if (topic === TRANSCRIPT_TOPIC) {
      const speaker = normaliseSpeaker(String(data.speaker ?? ""), String(data.role ?? ""));
      this.addEntry(speaker, String(data.content ?? ""));
      return;
    }
    if (topic === EVENTS_TOPIC) {
      const event = toTutorEvent(String(data.event ?? ""), data);
      if (event) this.onTurnEvent(event, null);
    }
  }

  /** Version B: OpenAI Realtime events from the data channel. */
  private async onRealtimeEvent(event: RealtimeServerEvent): Promise<void> {
    const session = this.state.session;
    if (!session) return;
    switch (event.type) {
      case "input_audio_buffer.speech_started":
        if (this.player.playing || (this.turn && !this.turn.done)) await this.bargeIn(true);
        this.setAgentState("listening");
        break;
      case "conversation.item.input_audio_transcription.completed": {
        const text = String(event.transcript ?? "").trim();
        if (!text) break;
        this.addEntry("student", text);
        await this.moderate(String(event.item_id ?? nextId("in")), "user", text, true);
        break;
      }
      case "response.created":
        this.setAgentState("thinking");
        break;
      case "response.output_audio_transcript.delta":
      case "response.audio_transcript.delta":
        this.onReplyDelta(String(event.response_id ?? "r"), String(event.delta ?? ""));
        break;
      case "response.output_audio_transcript.done":
      case "response.audio_transcript.done":
        await this.flushReply(String(event.response_id ?? "r"), true);
        break;
      case "response.function_call_arguments.done":
        await this.onToolCall(String(event.name ?? ""), String(event.call_id ?? ""), String(event.arguments ?? "{}"));
        break;
      case "response.done": {
        const response = (event.response ?? {}) as { id?: string; usage?: { input_tokens?: number; output_tokens?: number } };
        if (response.usage && response.id) {
          await this.client
            .post("/api/sessions/{session_id}/realtime/transcript", {
              path: { session_id: session.session_id },
              body: {
                response_id: safeId(response.id),
                role: "assistant",
                delta: "",
                final: true,
                usage: { input_tokens: response.usage.input_tokens ?? 0, output_tokens: response.usage.output_tokens ?? 0 },
              },
            })
            .catch(() => undefined);
        }
        break;
      }
      case "output_audio_buffer.started":
        this.setAgentState("speaking");
        break;
      case "output_audio_buffer.stopped":
        this.setAgentState("listening");
        break;
      case "error": {
        const detail = (event.error ?? {}) as { message?: string; code?: string };
        // Stopping the tutor always sends response.cancel; with no Realtime answer in progress that is refused, harmlessly.
        if (detail.code === "response_cancel_not_active") break;
        this.addEntry("system", `Voice: ${detail.message ?? "the speech service reported an error"}`);
        break;
      }
      default:
        break;
    }
  }

  private onReplyDelta(responseId: string, delta: string): void {
    let reply = this.replies.get(responseId);
    if (!reply) {
      reply = { entryId: this.addEntry("english", "", false), pending: "", posted: false, timer: null };
      this.replies.set(responseId, reply);
    }
    this.appendEntry(reply.entryId, delta, null, false);
    reply.pending += delta;
    if (!reply.timer) reply.timer = setTimeout(() => void this.flushReply(responseId, false), 250);
  }

  /** Send what Realtime said since the last check; a cancel verdict cuts its reply off at once. */
  private async flushReply(responseId: string, final: boolean): Promise<void> {
    const reply = this.replies.get(responseId);
    if (!reply) return;
    if (reply.timer) clearTimeout(reply.timer);
    reply.timer = null;
    const delta = reply.pending;
    reply.pending = "";
    if (final) {
      this.finishEntry(reply.entryId);
      this.replies.delete(responseId);
    }
    if (!delta && !final) return;
    await this.moderate(responseId, "assistant", delta, final, reply.entryId);
  }

  private async moderate(id: string, role: "user" | "assistant", delta: string, final: boolean, entryId?: string): Promise<void> {
    const session = this.state.session;
    if (!session) return;
    try {
      const verdict = await this.client.post("/api/sessions/{session_id}/realtime/transcript", {
        path: { session_id: session.session_id },
        body: { response_id: safeId(id), role, delta: delta.slice(0, 4000), final },
      });
      if (verdict.action === "cancel_response") {
        this.realtime?.send({ type: "response.cancel" });
        this.realtime?.send({ type: "output_audio_buffer.clear" });
        if (entryId) this.markEntry(entryId, "stopped by the safety check");
        if (verdict.message) this.addEntry("orchestrator", verdict.message, true, ["safe replacement"]);
        this.onTurnEvent(
          {
            type: "guardrail",
            data: { direction: role === "user" ? "input" : "output", action: "block", category: verdict.category ?? null, score: 1, fail_closed: false },
          },
          null,
        );
      }
      if (verdict.escalated) {
        this.onTurnEvent({ type: "escalation", data: { source: "guardrail", message: "A teacher has been asked to help you." } }, null);
      }
    } catch {
      // moderation of Realtime speech is best effort from here; the gateway audits what it sees
    }
  }

  private async onToolCall(name: string, callId: string, args: string): Promise<void> {
    const session = this.state.session;
    if (!session || !this.realtime) return;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(args) as Record<string, unknown>;
    } catch {
      parsed = {};
    }
    let output: Record<string, unknown>;
    if (name === "ask_specialist") {
      const subject = parsed.subject === "history" ? "history" : "math";
      const question = String(parsed.question ?? "").trim() || "Can you help me with this?";
      const answer = await this.gatewayTurn(session.session_id, {
        text: question,
        speak: true,
        source: "realtime_tool",
        subject_hint: subject,
      });
      output = { spoken_to_student: true, answer };
    } else if (name === "request_teacher") {
      await this.askTeacher(String(parsed.reason ?? "The tutor asked for a teacher."));
      output = { teacher_notified: true };
    } else {
      output = { error: `unknown tool ${name}` };
    }
    this.realtime.send({ type: "conversation.item.create", item: { type: "function_call_output", call_id: callId, output: JSON.stringify(output) } });
    this.realtime.send({ type: "response.create" });
  }

  // --- helpers --------------------------------------------------------------------------------

  private showTradeoff(moment: TradeoffMoment): void {
    this.store.set((s) => withMoment(s, moment));
  }

  /** Show an earlier explanation again. */
  reopenTradeoff(topic: string): void {
    const moment = this.state.tradeoffHistory.find((m) => m.topic === topic);
    if (moment) this.store.set({ tradeoff: moment });
  }

  private setVoice(change: Partial<StudentState["voice"]>): void {
    this.store.set((s) => ({ voice: { ...s.voice, ...change } }));
  }

  private setAgentState(agentState: AgentState): void {
    if (this.state.agentState !== agentState) this.store.set({ agentState });
  }

  private restingState(): AgentState {
    if (this.turn && !this.turn.done) return "thinking";
    const voice = this.state.voice;
    return voice.status === "connected" && voice.micOn ? "listening" : "idle";
  }

  private addEntry(speaker: Speaker, text: string, final = true, checks: string[] = []): string {
    const entry: TranscriptEntry = { id: nextId("t"), speaker, text, checks, final, at: Date.now() };
    this.store.set((s) => ({ transcript: [...s.transcript, entry] }));
    return entry.id;
  }

  private appendEntry(id: string, text: string, note: string | null, spaced = true): void {
    this.store.set((s) => ({
      transcript: s.transcript.map((e) =>
        e.id === id
          ? {
              ...e,
              text: e.text && spaced ? `${e.text} ${text}` : `${e.text}${text}`,
              checks: note && !e.checks.includes(note) ? [...e.checks, note] : e.checks,
            }
          : e,
      ),
    }));
  }

  private finishEntry(id: string): void {
    this.store.set((s) => ({ transcript: s.transcript.map((e) => (e.id === id ? { ...e, final: true } : e)) }));
  }

  private markEntry(id: string | null, note: string): void {
    if (!id) return;
    this.store.set((s) => ({
      transcript: s.transcript.map((e) => (e.id === id && !e.checks.includes(note) ? { ...e, final: true, checks: [...e.checks, note] } : e)),
    }));
  }

  private markLastStudent(note: string): void {
    const last = [...this.state.transcript].reverse().find((e) => e.speaker === "student");
    if (last) this.markEntry(last.id, note);
  }
}

function toAgentState(state: string): AgentState {
  if (state === "listening" || state === "thinking" || state === "speaking") return state;
  return "idle";
}

function safeId(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 100);
  return cleaned || "response";
}

function friendlyUnavailable(detail: string): string {
  return detail ? detail.charAt(0).toUpperCase() + detail.slice(1) : "This version of the tutor isn't available right now.";
}
