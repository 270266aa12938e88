import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RealtimeVoice, realtimeCallUrl, type RealtimeStatus } from "../src/voice/realtimeVoice";

/**
 * A real HTTP server stands in for the Realtime calls endpoint the gateway names in its public
 * config; only the browser's WebRTC and media APIs (absent in Node) are replaced by minimal fakes.
 */
interface Call {
  path: string;
  auth: string | undefined;
  contentType: string | undefined;
  body: string;
}

let server: Server;
let baseUrl: string;
const calls: Call[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    calls.push({
      path: req.url ?? "",
      auth: req.headers.authorization,
      contentType: req.headers["content-type"],
      body: Buffer.concat(chunks).toString(),
    });
    res.setHeader("Content-Type", "application/sdp");
    res.end("v=0 answer");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

afterEach(() => {
  vi.unstubAllGlobals();
  calls.length = 0;
});

interface FakeChannel {
  readyState: string;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onmessage: ((ev: { data: string }) => void) | null;
  close(): void;
  send(): void;
}

class FakePeerConnection {
  static last: FakePeerConnection | null = null;
  channel: FakeChannel | null = null;
  connectionState = "new";
  remote: { type: string; sdp: string } | null = null;
  ontrack: unknown = null;
  onconnectionstatechange: unknown = null;
  constructor() {
    FakePeerConnection.last = this;
  }
  addTrack(): void {}
  createDataChannel(): FakeChannel {
    const channel: FakeChannel = {
      readyState: "connecting",
      // As in a browser: the close event comes later, from the event loop.
      close: () => void setTimeout(() => channel.onclose?.(), 0),
      send() {},
      onopen: null,
      onclose: null,
      onmessage: null,
    };
    this.channel = channel;
    return channel;
  }
  async createOffer() {
    return { type: "offer", sdp: "v=0 offer" };
  }
  async setLocalDescription(): Promise<void> {}
  async setRemoteDescription(description: { type: string; sdp: string }): Promise<void> {
    this.remote = description;
  }
  close(): void {}
}

function stubBrowser(): void {
  const track = { enabled: true, stop() {} };
  vi.stubGlobal("navigator", { mediaDevices: { getUserMedia: async () => ({ getAudioTracks: () => [track], getTracks: () => [track] }) } });
  vi.stubGlobal("document", { createElement: () => ({ autoplay: false, muted: false, srcObject: null }) });
  vi.stubGlobal("RTCPeerConnection", FakePeerConnection);
  vi.stubGlobal("MediaStream", class {});
}

describe("version B voice", () => {
  it("builds the call URL from the configured endpoint and the session's model", () => {
    expect(realtimeCallUrl("http://127.0.0.1:9/v1/realtime/calls", "gpt-realtime mini")).toBe(
      "http://127.0.0.1:9/v1/realtime/calls?model=gpt-realtime%20mini",
    );
    expect(realtimeCallUrl("https://proxy.example/calls?tenant=1", "m")).toBe("https://proxy.example/calls?tenant=1&model=m");
  });

  it("posts the SDP offer to the gateway-configured calls URL with the ephemeral key", async () => {
    stubBrowser();
    const statuses: Array<[RealtimeStatus, string | undefined]> = [];
    const voice = new RealtimeVoice({
      clientSecret: "ek_test_123",
      model: "gpt-realtime",
      callsUrl: `${baseUrl}/v1/realtime/calls`,
      onEvent: () => {},
      onStatus: (status, message) => statuses.push([status, message]),
    });
    await voice.start();
    expect(calls).toEqual([
      { path: "/v1/realtime/calls?model=gpt-realtime", auth: "Bearer ek_test_123", contentType: "application/sdp", body: "v=0 offer" },
    ]);
    expect(FakePeerConnection.last?.remote).toEqual({ type: "answer", sdp: "v=0 answer" });
    expect(statuses.map(([s]) => s)).toEqual(["connecting"]);
    voice.stop();
    // A deliberate hang-up reports nothing, though the channel's close event comes later.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(statuses.map(([s]) => s)).toEqual(["connecting"]);
  });

  it("says voice could not connect when the endpoint refuses, and keeps text usable", async () => {
    stubBrowser();
    const statuses: Array<[RealtimeStatus, string | undefined]> = [];
    const voice = new RealtimeVoice({
      clientSecret: "ek_test_123",
      model: "gpt-realtime",
      callsUrl: `${baseUrl.replace(/:\d+$/, ":1")}/v1/realtime/calls`,
      onEvent: () => {},
      onStatus: (status, message) => statuses.push([status, message]),
    });
    await voice.start();
    const [status, message] = statuses[statuses.length - 1];
    expect(status).toBe("error");
    expect(message).toMatch(/Voice could not connect: .*You can keep typing\./);
  });
});
