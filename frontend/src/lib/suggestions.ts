/** Questions a student can tap to try the tutor (two per subject, plus asking for help). */
export interface Suggestion {
  subject: "math" | "history" | "english";
  text: string;
}

export const SUGGESTIONS: Suggestion[] = [
  { subject: "math", text: "What is seven times eight?" },
  { subject: "math", text: "How do I add fractions with different denominators?" },
  { subject: "history", text: "Who built the pyramids of Giza?" },
  { subject: "history", text: "Why did the Roman Empire fall?" },
  { subject: "english", text: "What is a noun?" },
  { subject: "english", text: "When should I use a semicolon?" },
];
