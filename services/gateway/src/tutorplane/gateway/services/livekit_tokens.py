"""LiveKit access tokens for version A (livekit-api).

Students get a token for one new room only (``tutor-<uuid4>``: unguessable), joining as
themselves, with an explicit agent dispatch in the room configuration so the named agent pool
joins. Teachers get a token for that one room to listen and send data (and speak), never
``roomAdmin``, ``roomCreate`` or ``roomList``.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass

from livekit.api import AccessToken, VideoGrants
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration


class VariantUnavailableError(Exception):
    """A variant cannot be served by this gateway; the message says what to configure."""


def new_room_name() -> str:
    return f"tutor-{uuid.uuid4()}"


@dataclass(frozen=True)
class LiveKitMinter:
    url: str
    api_key: str
    api_secret: str
    ttl: datetime.timedelta

    def student_token(
        self,
        *,
        room: str,
        student_id: str,
        display_name: str,
        agent_name: str,
        session_id: str,
        revision: str,
    ) -> str:
        # The agent worker's job-metadata document (v1, kind "start"); it rejects anything else.
        metadata = json.dumps({"v": 1, "kind": "start", "session_id": session_id, "student_id": student_id})
        grants = VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_subscribe=True,
            can_publish_data=True,
            can_publish_sources=["microphone"],
        )
        config = RoomConfiguration(
            name=room,
            empty_timeout=300,
            departure_timeout=20,
            agents=[RoomAgentDispatch(agent_name=agent_name, metadata=metadata)],
        )
        return (
            AccessToken(self.api_key, self.api_secret)
            .with_identity(student_id)
            .with_name(display_name or "Student")
            .with_kind("standard")
            .with_metadata(json.dumps({"role": "student", "session_id": session_id, "revision": revision}))
            .with_grants(grants)
            .with_room_config(config)
            .with_ttl(self.ttl)
            .to_jwt()
        )

    def teacher_token(self, *, room: str, teacher_id: str, display_name: str, session_id: str) -> str:
        grants = VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_subscribe=True,
            can_publish_data=True,
            can_publish_sources=["microphone"],
        )
        return (
            AccessToken(self.api_key, self.api_secret)
            .with_identity(f"teacher-{teacher_id}")
            .with_name(display_name or "Teacher")
            .with_kind("standard")
            .with_metadata(json.dumps({"role": "teacher", "session_id": session_id}))
            .with_grants(grants)
            .with_ttl(self.ttl)
            .to_jwt()
        )
