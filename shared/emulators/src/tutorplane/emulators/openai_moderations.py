"""OpenAI ``POST /v1/moderations`` in the omni-moderation response shape."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import OPENAI, BadRequest, bad_request
from .gate import admit, missing_key, read_json
from .moderation import moderation_result
from .state import STATE
from .wire import new_id

DEFAULT_MODEL = "omni-moderation-latest"


def _inputs(raw: Any) -> list[tuple[str, bool]]:
    """(text, has_image) per result: one per string, one for a whole multi-modal array."""
    if isinstance(raw, str):
        return [(raw, False)]
    if isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
        return [(item, False) for item in raw]
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        texts = [str(item.get("text", "")) for item in raw if item.get("type") == "text"]
        has_image = any(item.get("type") == "image_url" for item in raw)
        if not texts and not has_image:
            raise BadRequest("Each multi-modal input needs type 'text' or 'image_url'.", param="input")
        return [(" ".join(texts), has_image)]
    raise BadRequest(
        "Invalid 'input': use a string, an array of strings, or an array of "
        "{'type': 'text'|'image_url', ...} objects.",
        param="input",
    )


async def moderations(request: web.Request) -> web.StreamResponse:
    if (denied := missing_key(request, OPENAI)) is not None:
        return denied
    try:
        body = await read_json(request)
        if (answered := await admit(request, "moderations", OPENAI, body)) is not None:
            return answered
        if "input" not in body:
            raise BadRequest("Missing required parameter: 'input'.", param="input")
        inputs = _inputs(body["input"])
    except BadRequest as exc:
        return bad_request(OPENAI, exc.message, param=exc.param)
    script = request.app[STATE].script
    model = body.get("model") or DEFAULT_MODEL
    results = [
        moderation_result(text, script.moderation_overrides(text), has_image=has_image)
        for text, has_image in inputs
    ]
    return web.json_response(
        {"id": new_id("modr-"), "model": model, "results": results}, headers={"x-request-id": new_id("req_")}
    )
