import { describe, expect, it } from "vitest";
import { readSse, SseParser, type SseMessage } from "../src/api/sse";

function feed(chunks: string[]): SseMessage[] {
  const parser = new SseParser();
  return chunks.flatMap((c) => parser.push(c));
}

describe("SseParser", () => {
  it("parses events with names, ids and JSON data", () => {
    const out = feed(['event: routing\ndata: {"subject":"math"}\n\n', "id: 7\nevent: escalation\ndata: {}\n\n"]);
    expect(out).toEqual([
      { event: "routing", data: '{"subject":"math"}', id: null },
      { event: "escalation", data: "{}", id: "7" },
    ]);
  });

  it("joins events split anywhere across chunks, including inside a CRLF pair", () => {
    const text = 'event: sentence\r\ndata: {"index":0,"text":"Seven times eight is 56."}\r\n\r\nevent: done\r\ndata: {}\r\n\r\n';
    const whole = feed([text]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(feed([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    }
    expect(whole.map((m) => m.event)).toEqual(["sentence", "done"]);
  });

  it("skips heartbeat comments and keeps multi-line data", () => {
    const out = feed([": ping\n\n", "data: line one\ndata: line two\n\n"]);
    expect(out).toEqual([{ event: "message", data: "line one\nline two", id: null }]);
  });

  it("accepts lone CR line ends and fields without a space or value", () => {
    const out = feed(["event:turn\rdata:{}\r\r", "data\n\n"]);
    expect(out).toEqual([
      { event: "turn", data: "{}", id: null },
      { event: "message", data: "", id: null },
    ]);
  });

  it("remembers retry and the last event id; drops an event cut off by the end of the stream", () => {
    const parser = new SseParser();
    expect(parser.push("retry: 3000\nid: 41\nevent: escalation\ndata: {}\n\nid: 42\ndata: {")).toHaveLength(1);
    expect(parser.retryMs).toBe(3000);
    expect(parser.lastEventId).toBe("41");
    expect(parser.end()).toEqual([]);
  });

  it("reads a byte stream, decoding UTF-8 characters split between chunks", async () => {
    const bytes = new TextEncoder().encode('event: sentence\ndata: {"text":"½ + ¼ = ¾"}\n\n');
    const chunks = [bytes.slice(0, 30), bytes.slice(30, 31), bytes.slice(31)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const seen: SseMessage[] = [];
    await readSse(stream, (m) => seen.push(m));
    expect(JSON.parse(seen[0].data)).toEqual({ text: "½ + ¼ = ¾" });
  });
});
