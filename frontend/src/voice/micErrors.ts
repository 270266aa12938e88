/** Friendly words for getUserMedia failures. */
export function describeMicError(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "The microphone is blocked. Allow microphone access in your browser's address bar, or type your question instead.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Plug one in, or type your question instead.";
    case "NotReadableError":
      return "Another app is using the microphone. Close it and try again, or type your question instead.";
    default:
      return "The microphone could not be started. You can still type your questions.";
  }
}
