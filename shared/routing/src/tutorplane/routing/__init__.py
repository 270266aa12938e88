"""Two-stage subject routing (fast local classifier, LLM classifier only when unsure) with
conversation context, the function-tool strategy of the reference design, and the streaming
specialists. Heavy modules (SDK clients) are imported from their own modules, not from here."""

from tutorplane.routing.types import RoutingDecision, Stage, Strategy, Subject, Turn, Usage

__all__ = ["RoutingDecision", "Stage", "Strategy", "Subject", "Turn", "Usage"]
