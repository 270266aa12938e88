"""Specialists: streaming math (Anthropic) and history (OpenAI chat) tutors, the English Realtime
session contract, and the off-topic / needs-teacher handlers, all behind one port."""

from tutorplane.routing.specialists.base import Specialist, SpecialistReply, StreamingSpecialist
from tutorplane.routing.specialists.chat_specialist import (
    EnglishTextSpecialist,
    HistorySpecialist,
    OpenAIChatSpecialist,
)
from tutorplane.routing.specialists.english_realtime import (
    HAND_BACK_TOOL,
    EnglishRealtimeConfig,
    HandBack,
    HandBackReason,
    function_call_output,
)
from tutorplane.routing.specialists.handlers import (
    ClarifyHandler,
    EscalationRequest,
    NeedsTeacherHandler,
    OffTopicHandler,
    off_topic_line,
)
from tutorplane.routing.specialists.math_specialist import AnthropicSpecialist, MathSpecialist
from tutorplane.routing.specialists.registry import Specialists, build_specialists

__all__ = [
    "HAND_BACK_TOOL",
    "AnthropicSpecialist",
    "ClarifyHandler",
    "EnglishRealtimeConfig",
    "EnglishTextSpecialist",
    "EscalationRequest",
    "HandBack",
    "HandBackReason",
    "HistorySpecialist",
    "MathSpecialist",
    "NeedsTeacherHandler",
    "OffTopicHandler",
    "OpenAIChatSpecialist",
    "Specialist",
    "SpecialistReply",
    "Specialists",
    "StreamingSpecialist",
    "build_specialists",
    "function_call_output",
    "off_topic_line",
]
