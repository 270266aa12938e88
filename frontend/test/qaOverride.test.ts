import { describe, expect, it } from "vitest";
import { parseVariant, qaOverride } from "../src/student/qaOverride";

describe("QA override link", () => {
  it("reads only A or B from ?variant=", () => {
    expect(parseVariant("?variant=a")).toBe("A");
    expect(parseVariant("?variant=B&x=1")).toBe("B");
    expect(parseVariant("?variant=C")).toBeNull();
    expect(parseVariant("")).toBeNull();
  });

  it("asks for the pinned version when the gateway opens the override to the caller", () => {
    expect(qaOverride("?variant=a", { qa_override_open: true })).toEqual({
      variant: "A",
      note: "QA link: this session asks for version A.",
    });
  });

  it("falls back to the usual assignment, with a note, when the override is closed to the caller", () => {
    const qa = qaOverride("?variant=B", { qa_override_open: false });
    expect(qa.variant).toBeNull();
    expect(qa.note).toMatch(/only QA staff can choose/);
  });

  it("says nothing without a QA link", () => {
    expect(qaOverride("", { qa_override_open: true })).toEqual({ variant: null, note: null });
  });
});
