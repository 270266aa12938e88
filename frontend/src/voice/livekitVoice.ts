/**
 * Version A voice and the teacher's "join the room": a LiveKit room with the token the gateway
 * issued. livekit-client is loaded only when a room is actually joined (it is most of the bundle).
 */
import type { Room } from "livekit-client";
import { describeMicError } from "./micErrors";

export type RoomStatus = "connecting" | "connected" | "reconnecting" | "disconnected" | "error";

export interface RoomCallbacks {
  onStatus: (status: RoomStatus, message?: string) => void;
  onData?: (topic: string, message: unknown) => void;
  onParticipants?: (names: string[]) => void;
  onAgentState?: (state: string) => void;
}

export const EVENTS_TOPIC = "tutorplane.events";
export const TRANSCRIPT_TOPIC = "transcript";
export const CHAT_TOPIC = "lk.chat";

export class LiveKitVoice {
  private room: Room | null = null;
  private readonly audioElements = new Set<HTMLMediaElement>();

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly callbacks: RoomCallbacks,
  ) {}

  async connect(withMic: boolean): Promise<void> {
    const { onStatus } = this.callbacks;
    onStatus("connecting");
    let lk: typeof import("livekit-client");
    try {
      lk = await import("livekit-client");
    } catch {
      onStatus("error", "The voice component could not be loaded. Reload the page to try again.");
      return;
    }
    const room = new lk.Room({ adaptiveStream: true, dynacast: true });
    this.room = room;
    const participants = () => {
      this.callbacks.onParticipants?.([...room.remoteParticipants.values()].map((p) => p.name || p.identity));
    };
    room
      .on(lk.RoomEvent.TrackSubscribed, (track) => {
        if (track.kind === lk.Track.Kind.Audio) {
          const element = track.attach();
          element.setAttribute("data-livekit-audio", "");
          document.body.appendChild(element);
          this.audioElements.add(element);
        }
      })
      .on(lk.RoomEvent.TrackUnsubscribed, (track) => {
        for (const element of track.detach()) {
          element.remove();
          this.audioElements.delete(element);
        }
      })
      .on(lk.RoomEvent.DataReceived, (payload, _participant, _kind, topic) => {
        try {
          this.callbacks.onData?.(topic ?? "", JSON.parse(new TextDecoder().decode(payload)));
        } catch {
          // not JSON: ignored
        }
      })
      .on(lk.RoomEvent.ParticipantConnected, participants)
      .on(lk.RoomEvent.ParticipantDisconnected, participants)
      .on(lk.RoomEvent.ParticipantAttributesChanged, (changed) => {
        const state = changed["lk.agent.state"];
        if (state) this.callbacks.onAgentState?.(state);
      })
      .on(lk.RoomEvent.Reconnecting, () => onStatus("reconnecting", "The connection dropped; reconnecting…"))
      .on(lk.RoomEvent.Reconnected, () => onStatus("connected"))
      .on(lk.RoomEvent.Disconnected, () => onStatus("disconnected", "The voice room closed. You can keep typing."));
    try {
      await room.connect(this.url, this.token);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      onStatus("error", `The voice room could not be reached (${reason}). Typed questions still work.`);
      this.room = null;
      return;
    }
    participants();
    onStatus("connected");
    try {
      await room.startAudio();
    } catch {
      // needs a gesture; the audio-unlock banner covers it
    }
    if (withMic) {
      try {
        await room.localParticipant.setMicrophoneEnabled(true);
      } catch (error) {
        onStatus("connected", describeMicError(error));
      }
    }
  }

  get connected(): boolean {
    return this.room?.state === "connected";
  }

  async setMic(on: boolean): Promise<void> {
    await this.room?.localParticipant.setMicrophoneEnabled(on);
  }

  /** Typed text to the agent (the agent session reads the `lk.chat` text stream). */
  async sendText(text: string): Promise<boolean> {
    if (!this.connected || !this.room) return false;
    await this.room.localParticipant.sendText(text, { topic: CHAT_TOPIC });
    return true;
  }

  /** Leave the room. Deliberate, so its Disconnected event is not reported (it would overwrite
   * the status of a room joined right after, when voice is started again). */
  async disconnect(): Promise<void> {
    for (const element of this.audioElements) element.remove();
    this.audioElements.clear();
    const room = this.room;
    this.room = null;
    room?.removeAllListeners();
    await room?.disconnect();
  }
}
