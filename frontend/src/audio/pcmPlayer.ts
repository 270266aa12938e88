/**
 * Gap-free playback of streamed PCM chunks with Web Audio, and instant stop for barge-in.
 *
 * Each chunk becomes one AudioBufferSourceNode started exactly where the previous one ends
 * (`nextStart`), so chunks arriving faster than real time queue up seamlessly, and a chunk
 * arriving late starts a short lead after "now" instead of in the past. `stop()` silences every
 * scheduled source at once and opens a new generation: chunks still in flight from the stopped
 * turn carry the old generation and are dropped.
 */
import { base64ToBytes, pcm16ToFloat32 } from "./pcm";

/** The part of AudioContext the player needs (a real one in the browser). */
export interface AudioContextLike {
  readonly currentTime: number;
  readonly destination: unknown;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBufferLike;
  createBufferSource(): AudioSourceLike;
}

export interface AudioBufferLike {
  readonly duration: number;
  getChannelData(channel: number): Float32Array;
}

export interface AudioSourceLike {
  buffer: AudioBufferLike | null;
  onended: ((ev: Event) => unknown) | null;
  connect(destination: never): unknown;
  start(when: number): void;
  stop(when?: number): void;
}

export interface PcmPlayerOptions {
  /** Seconds between "now" and the start of a chunk that arrives with nothing queued. */
  leadS?: number;
  onPlayingChange?: (playing: boolean) => void;
}

export class PcmPlayer {
  private nextStart = 0;
  private readonly live = new Set<AudioSourceLike>();
  private gen = 0;
  private readonly leadS: number;
  private wasPlaying = false;

  constructor(
    private readonly context: () => AudioContextLike,
    private readonly options: PcmPlayerOptions = {},
  ) {
    this.leadS = options.leadS ?? 0.05;
  }

  /** The current generation; pass it back to `enqueue` so a stopped turn's chunks are dropped. */
  get generation(): number {
    return this.gen;
  }

  get playing(): boolean {
    return this.live.size > 0;
  }

  /** When the queued audio ends, on the context clock. */
  get queuedUntil(): number {
    return this.nextStart;
  }

  /** Queue one chunk; returns its start time, or null when dropped (stale generation or empty). */
  enqueue(pcm: string | Uint8Array, sampleRate: number, generation = this.gen): number | null {
    if (generation !== this.gen) return null;
    const bytes = typeof pcm === "string" ? base64ToBytes(pcm) : pcm;
    const samples = pcm16ToFloat32(bytes);
    if (samples.length === 0) return null;
    const ctx = this.context();
    const buffer = ctx.createBuffer(1, samples.length, sampleRate);
    buffer.getChannelData(0).set(samples);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination as never);
    const start = Math.max(this.nextStart, ctx.currentTime + this.leadS);
    this.nextStart = start + samples.length / sampleRate;
    source.onended = () => {
      this.live.delete(source);
      this.notify();
    };
    this.live.add(source);
    source.start(start);
    this.notify();
    return start;
  }

  /** Barge-in: silence everything now; returns how many sources were cut. */
  stop(): number {
    this.gen += 1;
    const cut = this.live.size;
    for (const source of this.live) {
      source.onended = null;
      try {
        source.stop();
      } catch {
        // already stopped
      }
    }
    this.live.clear();
    this.nextStart = 0;
    this.notify();
    return cut;
  }

  private notify(): void {
    const playing = this.playing;
    if (playing !== this.wasPlaying) {
      this.wasPlaying = playing;
      this.options.onPlayingChange?.(playing);
    }
  }
}
