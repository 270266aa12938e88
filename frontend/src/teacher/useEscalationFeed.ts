import { useEffect, useRef, useState } from "react";
import { EscalationFeed, type FeedStatus } from "../api/escalationFeed";
import type { Escalation } from "../api/types";
import { notify } from "./notifications";

/** Live escalations (deduplicated by id) and the feed's connection status. */
export function useEscalationFeed(onOpen: (e: Escalation) => void) {
  const [items, setItems] = useState<Escalation[]>([]);
  const [status, setStatus] = useState<FeedStatus>("connecting");
  const feedRef = useRef<EscalationFeed | null>(null);
  const openRef = useRef(onOpen);
  openRef.current = onOpen;

  useEffect(() => {
    const openedAt = Date.now();
    const feed = new EscalationFeed({
      url: "/api/teacher/escalations/stream",
      onStatus: setStatus,
      onEscalation: (escalation, isNew) => {
        setItems(feed.store.list());
        const created = escalation.created_at ? Date.parse(escalation.created_at) : Date.now();
        // Replayed history is listed, not announced; only escalations raised since the console opened ring.
        if (isNew && created >= openedAt - 5000) {
          notify(
            `${escalation.student_name ?? "A student"} needs help`,
            escalation.reason,
            `escalation-${escalation.id}`,
            () => openRef.current(escalation),
          );
        }
      },
    });
    feedRef.current = feed;
    feed.start();
    return () => feed.stop();
  }, []);

  const update = (escalation: Escalation) => {
    const feed = feedRef.current;
    if (!feed) return;
    feed.store.update(escalation);
    setItems(feed.store.list());
  };

  return { items, status, update };
}
