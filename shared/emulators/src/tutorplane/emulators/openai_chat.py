"""OpenAI ``POST /v1/chat/completions``: streamed (SSE chunks + ``[DONE]``) and plain replies."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from . import offline
from .errors import OPENAI, BadRequest, bad_request
from .gate import admit, missing_key, read_json
from .plan import Conversation, Plan, plan_reply
from .state import STATE
from .wire import dumps, estimate_tokens, json_chunks, new_id, send_sse, start_sse, text_chunks


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        ).strip()
    return ""


def read_conversation(messages: list[Any]) -> Conversation:
    system = " ".join(
        content_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
    )
    question = next(
        (content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    after_tool = bool(messages) and messages[-1].get("role") in ("tool", "function")
    return Conversation(question=question, after_tool_result=after_tool, system=system)


def read_tools(body: dict[str, Any]) -> list[offline.ToolSpec]:
    specs: list[offline.ToolSpec] = []
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            specs.append(
                offline.ToolSpec(
                    function["name"], str(function.get("description", "")), function.get("parameters") or {}
                )
            )
    return specs


def read_tool_choice(value: Any) -> str | None:
    if value in (None, "auto"):
        return None
    if value in ("none", "required"):
        return str(value)
    if isinstance(value, dict) and value.get("type") == "allowed_tools":
        mode = (value.get("allowed_tools") or {}).get("mode")
        return "required" if mode == "required" else None
    if isinstance(value, dict):
        name = (value.get("function") or value.get("custom") or {}).get("name") or value.get("name")
        if isinstance(name, str):
            return f"name:{name}"
    raise BadRequest(
        "Invalid tool_choice: use 'none', 'auto', 'required' or "
        '{"type": "function", "function": {"name": "..."}}.',
        param="tool_choice",
    )


def validate(body: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("Missing required parameter: 'model'.", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Missing required parameter: 'messages' (a non-empty array).", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
            "function",
        ):
            raise BadRequest(
                f"Invalid value for 'messages[{index}].role': "
                "use system, developer, user, assistant or tool.",
                param=f"messages[{index}].role",
            )
    return messages


def _structured_text(body: dict[str, Any], conversation: Conversation, text: str) -> str:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return text
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return dumps(offline.json_answer(schema, conversation.question, text))
    if response_format.get("type") == "json_object":
        return dumps({"answer": text})
    return text


def usage_of(body: dict[str, Any], plan: Plan) -> dict[str, Any]:
    prompt = estimate_tokens(json.dumps(body.get("messages", []))) + estimate_tokens(
        json.dumps(body.get("tools", [])) if body.get("tools") else ""
    )
    completion = estimate_tokens(plan.text + "".join(c.name + c.arguments for c in plan.calls))
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    if plan.usage:
        usage.update(plan.usage)
    usage.setdefault("total_tokens", usage["prompt_tokens"] + usage["completion_tokens"])
    usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
    usage["completion_tokens_details"] = {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
    return usage


async def chat_completions(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, OPENAI)) is not None:
        return denied
    try:
        body = await read_json(request)
        if (answered := await admit(request, "chat", OPENAI, body)) is not None:
            return answered
        messages = validate(body)
        conversation = read_conversation(messages)
        tools = read_tools(body)
        tool_choice = read_tool_choice(body.get("tool_choice")) if tools else None
    except BadRequest as exc:
        return bad_request(OPENAI, exc.message, param=exc.param)

    plan = plan_reply(request.app[STATE].script, "chat", conversation, tools, tool_choice)
    if not plan.scripted and not plan.calls:
        plan.text = _structured_text(body, conversation, plan.text)
    if plan.delay_s:
        await asyncio.sleep(plan.delay_s)
    if body.get("stream"):
        return await _stream(request, body, plan)
    return web.json_response(_completion(body, plan), headers={"x-request-id": new_id("req_")})


def _completion(body: dict[str, Any], plan: Plan) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": plan.text or None,
        "refusal": None,
        "annotations": [],
    }
    if plan.calls:
        message["tool_calls"] = [
            {
                "id": new_id("call_"),
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in plan.calls
        ]
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if plan.calls else "stop",
            }
        ],
        "usage": usage_of(body, plan),
        "service_tier": "default",
        "system_fingerprint": "fp_tutorplane_emulator",
    }


async def _stream(request: web.Request, body: dict[str, Any], plan: Plan) -> web.StreamResponse:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    completion_id = new_id("chatcmpl-")
    created = int(time.time())
    response = await start_sse(request, {"x-request-id": new_id("req_")})

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body["model"],
            "service_tier": "default",
            "system_fingerprint": "fp_tutorplane_emulator",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            data["usage"] = None
        return data

    async def emit(data: dict[str, Any]) -> None:
        await send_sse(response, data)
        if plan.chunk_delay_s:
            await asyncio.sleep(plan.chunk_delay_s)

    await emit(chunk({"role": "assistant", "content": "" if not plan.calls else None, "refusal": None}))
    for piece in text_chunks(plan.text):
        await emit(chunk({"content": piece}))
    for index, call in enumerate(plan.calls):
        head = {
            "index": index,
            "id": new_id("call_"),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        await emit(chunk({"tool_calls": [head]}))
        for piece in json_chunks(call.arguments):
            await emit(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    await emit(chunk({}, "tool_calls" if plan.calls else "stop"))
    if include_usage:
        usage_chunk = chunk({})
        usage_chunk["choices"] = []
        usage_chunk["usage"] = usage_of(body, plan)
        await send_sse(response, usage_chunk)
    await send_sse(response, "[DONE]")
    await response.write_eof()
    return response
