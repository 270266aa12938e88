"""Anthropic ``POST /v1/messages``: the SSE event sequence and plain Message objects.

Streamed replies follow the real order: ``message_start``, ``ping``, then per content block
``content_block_start`` / ``content_block_delta`` (``text_delta`` or ``input_json_delta``) /
``content_block_stop``, then ``message_delta`` (stop reason + usage) and ``message_stop``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from . import offline
from .errors import ANTHROPIC, BadRequest, bad_request
from .gate import admit, missing_key, read_json
from .plan import Conversation, Plan, parse_arguments, plan_reply
from .state import STATE
from .wire import estimate_tokens, json_chunks, new_id, send_sse, start_sse, text_chunks


def _blocks_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        ).strip()
    return ""


def _is_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return (
        message.get("role") == "user"
        and isinstance(content, list)
        and bool(content)
        and all(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    )


def read_conversation(body: dict[str, Any], messages: list[dict[str, Any]]) -> Conversation:
    question = next(
        (
            _blocks_text(m.get("content"))
            for m in reversed(messages)
            if m.get("role") == "user" and not _is_tool_result(m)
        ),
        "",
    )
    return Conversation(
        question=question,
        after_tool_result=_is_tool_result(messages[-1]),
        system=_blocks_text(body.get("system")),
    )


def read_tools(body: dict[str, Any]) -> list[offline.ToolSpec]:
    return [
        offline.ToolSpec(tool["name"], str(tool.get("description", "")), tool.get("input_schema") or {})
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("name"), str)
    ]


def read_tool_choice(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("auto", "any", "tool", "none"):
        raise BadRequest(
            'tool_choice: use {"type": "auto"}, {"type": "any"}, {"type": "none"} '
            'or {"type": "tool", "name": "..."}.'
        )
    if value["type"] == "tool":
        if not isinstance(value.get("name"), str):
            raise BadRequest("tool_choice.name: Field required when type is 'tool'.")
        return f"name:{value['name']}"
    return {"auto": None, "any": "required", "none": "none"}[value["type"]]


def validate(body: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise BadRequest("max_tokens: Field required (a positive integer)")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: Field required (a non-empty list)")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise BadRequest(f"messages.{index}.role: Input should be 'user' or 'assistant'")
    return messages


def _usage(body: dict[str, Any], plan: Plan) -> tuple[int, int]:
    prompt = estimate_tokens(json.dumps(body.get("messages", [])) + json.dumps(body.get("system", "")))
    if body.get("tools"):
        prompt += estimate_tokens(json.dumps(body["tools"]))
    completion = estimate_tokens(plan.text + "".join(c.arguments for c in plan.calls))
    return prompt, max(1, completion)


async def messages(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, ANTHROPIC)) is not None:
        return denied
    try:
        body = await read_json(request)
        if (answered := await admit(request, "messages", ANTHROPIC, body)) is not None:
            return answered
        history = validate(body)
        conversation = read_conversation(body, history)
        tools = read_tools(body)
        tool_choice = read_tool_choice(body.get("tool_choice")) if tools else None
    except BadRequest as exc:
        return bad_request(ANTHROPIC, exc.message)

    plan = plan_reply(request.app[STATE].script, "messages", conversation, tools, tool_choice)
    if plan.delay_s:
        await asyncio.sleep(plan.delay_s)
    if body.get("stream"):
        return await _stream(request, body, plan)
    return web.json_response(_message(body, plan), headers={"request-id": new_id("req_")})


def _content_blocks(plan: Plan) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if plan.text:
        blocks.append({"type": "text", "text": plan.text})
    for call in plan.calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": new_id("toolu_"),
                "name": call.name,
                "input": parse_arguments(call.arguments),
            }
        )
    return blocks


def _message(body: dict[str, Any], plan: Plan) -> dict[str, Any]:
    prompt, completion = _usage(body, plan)
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": _content_blocks(plan),
        "stop_reason": "tool_use" if plan.calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt,
            "output_tokens": completion,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        },
    }


async def _stream(request: web.Request, body: dict[str, Any], plan: Plan) -> web.StreamResponse:
    prompt, completion = _usage(body, plan)
    response = await start_sse(request, {"request-id": new_id("req_")})

    async def emit(event: str, data: dict[str, Any]) -> None:
        await send_sse(response, {"type": event, **data}, event=event)
        if plan.chunk_delay_s and event == "content_block_delta":
            await asyncio.sleep(plan.chunk_delay_s)

    start = _message(body, plan)
    start.update(content=[], stop_reason=None)
    start["usage"] = {**start["usage"], "input_tokens": prompt, "output_tokens": 1}
    await emit("message_start", {"message": start})
    await emit("ping", {})
    index = 0
    if plan.text:
        await emit("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
        for piece in text_chunks(plan.text):
            await emit(
                "content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}}
            )
        await emit("content_block_stop", {"index": index})
        index += 1
    for call in plan.calls:
        block = {"type": "tool_use", "id": new_id("toolu_"), "name": call.name, "input": {}}
        await emit("content_block_start", {"index": index, "content_block": block})
        await emit(
            "content_block_delta", {"index": index, "delta": {"type": "input_json_delta", "partial_json": ""}}
        )
        for piece in json_chunks(call.arguments):
            await emit(
                "content_block_delta",
                {"index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
            )
        await emit("content_block_stop", {"index": index})
        index += 1
    await emit(
        "message_delta",
        {
            "delta": {"stop_reason": "tool_use" if plan.calls else "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": completion},
        },
    )
    await emit("message_stop", {})
    await response.write_eof()
    return response


async def count_tokens(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, ANTHROPIC)) is not None:
        return denied
    try:
        body = await read_json(request)
    except BadRequest as exc:
        return bad_request(ANTHROPIC, exc.message)
    text = (
        json.dumps(body.get("messages", []))
        + json.dumps(body.get("system", ""))
        + json.dumps(body.get("tools", []))
    )
    return web.json_response({"input_tokens": estimate_tokens(text)})
