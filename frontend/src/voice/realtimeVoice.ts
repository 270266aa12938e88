/**
 * Version B voice: the browser talks to OpenAI Realtime directly over WebRTC with the ephemeral
 * key the gateway minted (the key never grants more than this one session's configuration).
 *
 * This class is only the transport: microphone, peer connection, the `oai-events` data channel and
 * the remote audio element. What the events mean (transcript, tool calls, moderation) is handled
 * by the student session.
 */
import { describeMicError } from "./micErrors";

/** The SDP offer's target: the gateway's `realtime_calls_url` (its OpenAI base URL) plus the model. */
export function realtimeCallUrl(callsUrl: string, model: string): string {
  const join = callsUrl.includes("?") ? "&" : "?";
  return `${callsUrl}${join}model=${encodeURIComponent(model)}`;
}

export type RealtimeStatus = "connecting" | "connected" | "closed" | "error";

export interface RealtimeServerEvent {
  type: string;
  [key: string]: unknown;
}

export interface RealtimeVoiceOptions {
  clientSecret: string;
  model: string;
  /** From the gateway's public config (`realtime_calls_url`): never hard-coded in the app. */
  callsUrl: string;
  onEvent: (event: RealtimeServerEvent) => void;
  onStatus: (status: RealtimeStatus, message?: string) => void;
}

export class RealtimeVoice {
  private pc: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private mic: MediaStream | null = null;
  private audio: HTMLAudioElement | null = null;
  private micOn = true;

  constructor(private readonly options: RealtimeVoiceOptions) {}

  async start(): Promise<void> {
    const { onStatus } = this.options;
    onStatus("connecting");
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (error) {
      onStatus("error", describeMicError(error));
      return;
    }
    try {
      const pc = new RTCPeerConnection();
      this.pc = pc;
      const audio = document.createElement("audio");
      audio.autoplay = true;
      this.audio = audio;
      pc.ontrack = (ev) => {
        audio.srcObject = ev.streams[0] ?? new MediaStream([ev.track]);
      };
      for (const track of this.mic.getAudioTracks()) pc.addTrack(track, this.mic);
      const channel = pc.createDataChannel("oai-events");
      this.channel = channel;
      channel.onopen = () => onStatus("connected");
      channel.onclose = () => onStatus("closed", "The voice connection closed. Start voice again, or keep typing.");
      channel.onmessage = (ev) => {
        try {
          this.options.onEvent(JSON.parse(String(ev.data)) as RealtimeServerEvent);
        } catch {
          // a malformed event is skipped
        }
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed" || pc.connectionState === "disconnected") {
          onStatus("error", "The voice connection dropped. Check your network; you can keep typing meanwhile.");
        }
      };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const response = await fetch(realtimeCallUrl(this.options.callsUrl, this.options.model), {
        method: "POST",
        body: offer.sdp ?? "",
        headers: { Authorization: `Bearer ${this.options.clientSecret}`, "Content-Type": "application/sdp" },
      });
      if (!response.ok) throw new Error(`the speech service refused the call (${response.status})`);
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    } catch (error) {
      this.stop();
      const reason = error instanceof Error ? error.message : String(error);
      onStatus("error", `Voice could not connect: ${reason}. You can keep typing.`);
    }
  }

  send(event: Record<string, unknown>): boolean {
    if (this.channel?.readyState !== "open") return false;
    this.channel.send(JSON.stringify(event));
    return true;
  }

  setMic(on: boolean): void {
    this.micOn = on;
    for (const track of this.mic?.getAudioTracks() ?? []) track.enabled = on;
  }

  get micEnabled(): boolean {
    return this.micOn;
  }

  /** Mute Realtime's own voice while the gateway speaks a specialist answer (never two voices). */
  muteOutput(muted: boolean): void {
    if (this.audio) this.audio.muted = muted;
  }

  /** Stop everything, including the microphone tracks (the light in the tab goes off). */
  /** Hang up. Deliberate, so it reports nothing: a "connection closed" arriving later would
   * overwrite the status of a new connection started right after (voice started again). */
  stop(): void {
    for (const track of this.mic?.getTracks() ?? []) track.stop();
    this.mic = null;
    if (this.channel) this.channel.onopen = this.channel.onclose = this.channel.onmessage = null;
    if (this.pc) this.pc.onconnectionstatechange = null;
    this.channel?.close();
    this.channel = null;
    this.pc?.close();
    this.pc = null;
    if (this.audio) this.audio.srcObject = null;
    this.audio = null;
  }
}
