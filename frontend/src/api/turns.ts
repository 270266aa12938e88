/** Ask the tutor: stream one guarded turn and hand each event over as it arrives. */
import { type ApiClient, fillPath } from "./http";
import { parseJson, readSse } from "./sse";
import { type TutorEvent, toTutorEvent } from "./turnEvents";

export interface TurnRequest {
  text: string;
  speak?: boolean;
  source?: "typed" | "voice" | "realtime_tool";
  subject_hint?: "math" | "history" | null;
}

/** Resolves when the stream ends (after `done`); rejects with ApiError before the stream starts. */
export async function streamTurn(
  client: ApiClient,
  sessionId: string,
  body: TurnRequest,
  onEvent: (event: TutorEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const path = fillPath("/api/sessions/{session_id}/turns", { session_id: sessionId });
  const response = await client.request("POST", path, {
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.body) throw new Error("the tutor's answer stream is empty; try again");
  await readSse(response.body, (message) => {
    const event = toTutorEvent(message.event, parseJson(message.data));
    if (event) onEvent(event);
  });
}

export async function cancelTurn(client: ApiClient, sessionId: string, turnId: string): Promise<boolean> {
  const result = await client.post("/api/sessions/{session_id}/turns/{turn_id}/cancel", {
    path: { session_id: sessionId, turn_id: turnId },
  });
  return result.cancelled;
}
