/** Who said a line, in words a student understands. */

export type Speaker = "student" | "math" | "history" | "english" | "orchestrator" | "teacher" | "system";

const SPEAKER_LABELS: Record<Speaker, string> = {
  student: "You",
  math: "Maths tutor",
  history: "History tutor",
  english: "English tutor",
  orchestrator: "Tutor",
  teacher: "Teacher",
  system: "Notice",
};

export function speakerLabel(speaker: string): string {
  return SPEAKER_LABELS[speaker as Speaker] ?? "Tutor";
}

/** The speaker of a tutor answer on a given subject (the gateway's own mapping). */
export function speakerForSubject(subject: string | null | undefined): Speaker {
  if (subject === "math" || subject === "history" || subject === "english") return subject;
  return "orchestrator";
}

/** A transcript row's speaker: the student, a teacher, or the tutor agent that produced it. */
export function normaliseSpeaker(speaker: string, role?: string): Speaker {
  const s = speaker.toLowerCase();
  if (role === "user" || s === "student" || s === "user") return "student";
  if (s.startsWith("teacher")) return "teacher";
  if (s in SPEAKER_LABELS) return s as Speaker;
  if (s.includes("math")) return "math";
  if (s.includes("history")) return "history";
  if (s.includes("english")) return "english";
  return "orchestrator";
}

export function subjectLabel(subject: string | null | undefined): string {
  switch (subject) {
    case "math":
      return "Maths";
    case "history":
      return "History";
    case "english":
      return "English";
    case "off_topic":
      return "Off topic";
    case "needs_teacher":
      return "Needs a teacher";
    default:
      return "Waiting for a question";
  }
}
