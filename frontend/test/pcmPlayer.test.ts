import { describe, expect, it } from "vitest";
import { type AudioBufferLike, type AudioContextLike, type AudioSourceLike, PcmPlayer } from "../src/audio/pcmPlayer";
import { pcm16ToFloat32 } from "../src/audio/pcm";

/** A Web Audio clock and graph that the test advances by hand (Node has no AudioContext). */
class FakeContext implements AudioContextLike {
  currentTime = 0;
  readonly destination = {};
  readonly sources: FakeSource[] = [];

  createBuffer(_channels: number, length: number, sampleRate: number): AudioBufferLike {
    const data = new Float32Array(length);
    return { duration: length / sampleRate, getChannelData: () => data };
  }

  createBufferSource(): AudioSourceLike {
    const source = new FakeSource();
    this.sources.push(source);
    return source;
  }

  /** Move the clock; sources whose audio has ended fire `onended`. */
  advance(seconds: number): void {
    this.currentTime += seconds;
    for (const s of this.sources) {
      if (s.startedAt !== null && !s.ended && s.startedAt + (s.buffer?.duration ?? 0) <= this.currentTime) {
        s.ended = true;
        s.onended?.(new Event("ended"));
      }
    }
  }
}

class FakeSource implements AudioSourceLike {
  buffer: AudioBufferLike | null = null;
  onended: ((ev: Event) => unknown) | null = null;
  startedAt: number | null = null;
  stopped = false;
  ended = false;
  connect(): void {}
  start(when: number): void {
    this.startedAt = when;
  }
  stop(): void {
    this.stopped = true;
  }
}

/** `ms` of silence at `rate` Hz as 16-bit PCM bytes. */
function pcm(ms: number, rate = 24000): Uint8Array {
  return new Uint8Array(Math.round((rate * ms) / 1000) * 2);
}

describe("PcmPlayer", () => {
  it("schedules chunks back to back with no gap and no overlap", () => {
    const ctx = new FakeContext();
    const player = new PcmPlayer(() => ctx, { leadS: 0.05 });
    const starts = [player.enqueue(pcm(200), 24000), player.enqueue(pcm(200), 24000), player.enqueue(pcm(100), 24000)];
    expect(starts).toEqual([0.05, 0.25, 0.45]);
    expect(player.queuedUntil).toBeCloseTo(0.55);
  });

  it("starts a late chunk a short lead after now, never in the past", () => {
    const ctx = new FakeContext();
    const player = new PcmPlayer(() => ctx, { leadS: 0.05 });
    player.enqueue(pcm(200), 24000);
    ctx.advance(1.0);
    expect(player.enqueue(pcm(200), 24000)).toBeCloseTo(1.05);
  });

  it("reports playing while audio is queued and idle once it has ended", () => {
    const ctx = new FakeContext();
    const changes: boolean[] = [];
    const player = new PcmPlayer(() => ctx, { leadS: 0, onPlayingChange: (p) => changes.push(p) });
    player.enqueue(pcm(200), 24000);
    player.enqueue(pcm(200), 24000);
    ctx.advance(0.25);
    expect(player.playing).toBe(true);
    ctx.advance(0.2);
    expect(player.playing).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it("barge-in stops every scheduled source and drops chunks of the stopped turn", () => {
    const ctx = new FakeContext();
    const player = new PcmPlayer(() => ctx);
    const turn = player.generation;
    player.enqueue(pcm(200), 24000, turn);
    player.enqueue(pcm(200), 24000, turn);
    expect(player.stop()).toBe(2);
    expect(ctx.sources.every((s) => s.stopped)).toBe(true);
    expect(player.playing).toBe(false);
    expect(player.enqueue(pcm(200), 24000, turn)).toBeNull();
    const next = player.generation;
    expect(next).not.toBe(turn);
    expect(player.enqueue(pcm(200), 24000, next)).not.toBeNull();
  });

  it("decodes little-endian 16-bit samples to the -1..1 range", () => {
    const bytes = new Uint8Array([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x40]);
    expect(Array.from(pcm16ToFloat32(bytes))).toEqual([-1, 32767 / 32768, 0, 0.5]);
  });
});
