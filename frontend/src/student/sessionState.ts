/** What the student view shows; owned by the StudentSession controller. */
import type { RoutingEvent, StageLatencies } from "../api/turnEvents";
import type { Session, SessionClose, Variant } from "../api/types";
import { type FlowState, initialFlow } from "../lib/flow";
import type { Speaker } from "../lib/speakers";
import type { TradeoffMoment, TradeoffTopic } from "../lib/tradeoffs";

export type AgentState = "idle" | "listening" | "thinking" | "speaking";

export interface TranscriptEntry {
  id: string;
  speaker: Speaker;
  text: string;
  /** Safety-check notes shown as chips: "rewritten", "blocked" … */
  checks: string[];
  final: boolean;
  at: number;
}

export type VoiceStatus =
  | "off"
  | "connecting"
  | "connected"
  | "unavailable"
  | "reconnecting"
  | "error";

export interface VoiceState {
  kind: "realtime" | "livekit" | "none";
  status: VoiceStatus;
  message: string | null;
  micOn: boolean;
}

export interface EscalationState {
  status: "none" | "asking" | "open" | "acknowledged";
  message: string | null;
  teacher: string | null;
}

export interface Hint {
  id: string;
  text: string;
  teacher: string;
  at: number;
}

export interface StudentState {
  phase: "idle" | "starting" | "active" | "ending" | "ended";
  session: Session | null;
  error: string | null;
  unavailable: string | null;
  transcript: TranscriptEntry[];
  agentState: AgentState;
  routing: RoutingEvent | null;
  flow: FlowState;
  tradeoff: TradeoffMoment | null;
  tradeoffsSeen: TradeoffTopic[];
  /** Every moment explained so far, newest first (one per topic). */
  tradeoffHistory: TradeoffMoment[];
  escalation: EscalationState;
  teacherPresent: string | null;
  hints: Hint[];
  voice: VoiceState;
  turnActive: boolean;
  lastLatencies: StageLatencies | null;
  summary: SessionClose | null;
  liveChannel: "off" | "connecting" | "live" | "reconnecting";
  online: boolean;
}

export function initialStudentState(variant: Variant = "B"): StudentState {
  return {
    phase: "idle",
    session: null,
    error: null,
    unavailable: null,
    transcript: [],
    agentState: "idle",
    routing: null,
    flow: initialFlow(variant),
    tradeoff: null,
    tradeoffsSeen: [],
    tradeoffHistory: [],
    escalation: { status: "none", message: null, teacher: null },
    teacherPresent: null,
    hints: [],
    voice: { kind: "none", status: "off", message: null, micOn: false },
    turnActive: false,
    lastLatencies: null,
    summary: null,
    liveChannel: "off",
    online: typeof navigator === "undefined" ? true : navigator.onLine,
  };
}
