"""Rendering recent turns for model calls: a delimited transcript for classifiers and a
role-alternating message list for chat specialists."""

from __future__ import annotations

from collections.abc import Sequence

from tutorplane.routing.types import Turn

MAX_TURN_CHARS = 600


def _clip(text: str) -> str:
    flat = " ".join(text.split()).replace("<", "‹").replace(">", "›")
    return flat if len(flat) <= MAX_TURN_CHARS else flat[: MAX_TURN_CHARS - 1] + "…"


def transcript_block(text: str, history: Sequence[Turn], turns: int) -> str:
    """Earlier turns and the latest message inside ``<conversation>`` tags.

    Angle brackets in student text are replaced so a message cannot close the tags early.
    """
    lines = ["<conversation>"]
    for turn in list(history)[-turns:] if turns else []:
        who = "Student" if turn.role == "user" else "Tutor"
        subject = f" [{turn.subject.value}]" if turn.subject else ""
        lines.append(f"{who}{subject}: {_clip(turn.text)}")
    lines.append(f"Student (LATEST): {_clip(text)}")
    lines.append("</conversation>")
    return "\n".join(lines)


def student_message(text: str) -> str:
    return f"<student>{_clip(text)}</student>"


def chat_messages(question: str, history: Sequence[Turn], turns: int) -> list[dict[str, str]]:
    """user/assistant messages ending with the question; consecutive same-role turns are merged
    and a leading assistant turn is dropped (Anthropic requires the first message to be user)."""
    messages: list[dict[str, str]] = []
    for turn in list(history)[-turns:] if turns else []:
        content = student_message(turn.text) if turn.role == "user" else _clip(turn.text)
        if not turn.text.strip():
            continue
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += "\n" + content
        else:
            messages.append({"role": turn.role, "content": content})
    while messages and messages[0]["role"] != "user":
        messages.pop(0)
    final = student_message(question)
    if messages and messages[-1]["role"] == "user":
        messages[-1]["content"] += "\n" + final
    else:
        messages.append({"role": "user", "content": final})
    return messages
