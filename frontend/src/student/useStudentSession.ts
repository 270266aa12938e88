import { useEffect, useState, useSyncExternalStore } from "react";
import { api } from "../api/http";
import type { PublicConfig } from "../api/types";
import type { StudentState } from "./sessionState";
import { StudentSession } from "./studentSession";

export function useStudentSession(config: PublicConfig): [StudentState, StudentSession] {
  const [controller] = useState(() => new StudentSession(api, config));
  useEffect(() => controller.attach(), [controller]);
  const state = useSyncExternalStore(controller.store.subscribe, controller.store.get);
  return [state, controller];
}
