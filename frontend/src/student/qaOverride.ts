/**
 * The QA link `?variant=A|B` pins a tutor version. The gateway says in its public config whether
 * the caller may use it (`qa_override_open`: staff always, students only when opened to all), so
 * a student with a stale QA link gets their usual version and a note, never a refusal.
 */
import type { PublicConfig, Variant } from "../api/types";

export interface QaOverride {
  /** The variant to ask for, or null for the usual weighted assignment. */
  variant: Variant | null;
  /** What to tell the user about the link, or null when there is no QA link. */
  note: string | null;
}

export function parseVariant(search: string): Variant | null {
  const v = new URLSearchParams(search).get("variant")?.toUpperCase();
  return v === "A" || v === "B" ? v : null;
}

export function qaOverride(search: string, config: Pick<PublicConfig, "qa_override_open">): QaOverride {
  const requested = parseVariant(search);
  if (!requested) return { variant: null, note: null };
  if (config.qa_override_open) return { variant: requested, note: `QA link: this session asks for version ${requested}.` };
  return {
    variant: null,
    note: `This link asks for version ${requested}, which only QA staff can choose here; you will get your usual version.`,
  };
}
