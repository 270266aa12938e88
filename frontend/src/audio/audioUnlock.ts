/**
 * One shared AudioContext, unlocked by the first user gesture.
 *
 * Browsers keep audio suspended until the page is touched, clicked or typed into. The first such
 * gesture anywhere resumes the context and plays one silent sample; until then the UI offers an
 * "enable tutor audio" button (the tutor's answers are still shown as text).
 */

type Listener = (unlocked: boolean) => void;

let context: AudioContext | null = null;
let unlocked = false;
const listeners = new Set<Listener>();

export function audioContext(): AudioContext {
  if (!context) {
    const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext: typeof AudioContext }).webkitAudioContext;
    context = new Ctor({ latencyHint: "interactive" });
  }
  return context;
}

export function isAudioUnlocked(): boolean {
  return unlocked;
}

export function onAudioUnlockChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setUnlocked(value: boolean): void {
  if (unlocked === value) return;
  unlocked = value;
  for (const listener of listeners) listener(value);
}

/** Call from a user gesture handler. */
export async function unlockAudio(): Promise<boolean> {
  try {
    const ctx = audioContext();
    if (ctx.state !== "running") await ctx.resume();
    const silent = ctx.createBuffer(1, 1, 22050);
    const source = ctx.createBufferSource();
    source.buffer = silent;
    source.connect(ctx.destination);
    source.start(0);
    setUnlocked(ctx.state === "running");
  } catch {
    setUnlocked(false);
  }
  return unlocked;
}

let installed = false;

/** Unlock on the first pointer or key gesture anywhere on the page. */
export function installAudioUnlock(): void {
  if (installed) return;
  installed = true;
  const handler = () => {
    void unlockAudio().then((ok) => {
      if (ok) {
        window.removeEventListener("pointerdown", handler, true);
        window.removeEventListener("keydown", handler, true);
      }
    });
  };
  window.addEventListener("pointerdown", handler, true);
  window.addEventListener("keydown", handler, true);
}
