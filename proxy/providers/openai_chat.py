"""OpenAI's conversational endpoints that can carry images: the Responses API (with the
image_generation tool the model writes its own image prompt) and chat completions with
image inputs. Every input text and every input image is inspected, whatever its turn.

Read from the API reference (Responses `input` items: messages with `input_text` /
`input_image` parts, earlier `image_generation_call` results; chat `messages[].content`
parts `text` / `image_url`). Files by id and file data cannot be inspected: refused.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.model import ImageRequest
from proxy.providers.base import WireResponse
from proxy.providers.jsonbody import JsonBody, child

OPERATIONS = {"/responses": "responses.create", "/chat/completions": "chat.completions"}
# Scalar settings a client sends; the values are enumerations or ids, still inspected as text
# when they are strings, except these which the renderer needs.
_PARAMS = ("model", "stream")
_TOOL_PARAMS = ("size", "quality", "background", "output_format")
_IMAGE_TYPES = {"input_image": "image_url", "image_url": "image_url"}
_UNREADABLE_TYPES = frozenset({"input_file", "file", "input_audio"})
# Enumerations that give a turn its structure; the API validates them, they carry no content.
# Known values only (a `type` is any snake_case token): anything else is read as text.
_STRUCTURE = {
    "role": frozenset({"user", "assistant", "system", "developer", "tool", "function"}),
    "detail": frozenset({"low", "high", "auto"}),
    "status": frozenset({"completed", "in_progress", "incomplete", "failed", "generating"}),
}
_TYPE = re.compile(r"[a-z][a-z_]{0,39}")


def _structural(name: str, value: object) -> bool:
    if not isinstance(value, str):
        return False
    if name == "type":
        return _TYPE.fullmatch(value) is not None
    return value in _STRUCTURE.get(name, ())


def read(body: JsonBody, operation: str) -> dict[str, object]:
    """Record every text and image of a Responses or chat request in `body`; return params."""
    doc = body.doc
    key = "input" if operation == "responses.create" else "messages"
    if key not in doc:
        raise MalformedRequest(f"missing {key} for {operation}")
    last_user = _last_user_turn(doc[key])
    for name, value in doc.items():
        pointer = child("", name)
        if name == key:
            _conversation(body, doc, key, pointer, last_user)
        elif name in _PARAMS and not isinstance(value, dict | list):
            continue
        else:
            _walk(body, doc, name, pointer, "other")
    if not any(p.role == "prompt" for p in body.prompts):
        raise MalformedRequest(f"no user text in {key}")
    params: dict[str, object] = {"n": 1}
    for name in _PARAMS:
        if name in doc:
            params[name] = doc[name]
    tool = _image_tool(doc)
    if tool is not None:
        params["image_tool"] = True
        params.update((n, tool[n]) for n in _TOOL_PARAMS if isinstance(tool.get(n), str))
    return params


def _last_user_turn(conversation: object) -> int | None:
    """Index of the last user message; its text is what the image is to show."""
    if isinstance(conversation, str):
        return None
    if not isinstance(conversation, list):
        raise MalformedRequest("the conversation must be a string or a list")
    users = [
        i for i, m in enumerate(conversation) if isinstance(m, dict) and m.get("role") == "user"
    ]
    return users[-1] if users else None


def _conversation(
    body: JsonBody, doc: dict[str, Any], key: str, pointer: str, last_user: int | None
) -> None:
    value = doc[key]
    if isinstance(value, str):
        body.text(doc, key, pointer, "prompt")
        return
    # The prompt goes first among prompts: walk the last user turn before the others.
    order = ([last_user] if last_user is not None else []) + [
        i for i in range(len(value)) if i != last_user
    ]
    for index in order:
        _walk(
            body, value, index, child(pointer, index), "prompt" if index == last_user else "other"
        )


def _walk(body: JsonBody, container: Any, key: Any, pointer: str, role: str) -> None:
    """Every string is text, except image parts, which are images; unreadable parts refuse."""
    value = container[key]
    if pointer.count("/") > 32:
        raise MalformedRequest("JSON body is nested too deeply")
    if isinstance(value, list):
        for index in range(len(value)):
            _walk(body, value, index, child(pointer, index), role)
        return
    if not isinstance(value, dict):
        if isinstance(value, str):
            body.text(container, key, pointer, role)
        return
    # A `type` that is not a string names no part type; it is walked as text like the rest.
    kind = value.get("type") if isinstance(value.get("type"), str) else None
    if kind in _UNREADABLE_TYPES:
        raise UnsupportedEndpoint("files and audio in a conversation cannot be inspected")
    if kind in _IMAGE_TYPES:
        _image_part(body, value, pointer)
        return
    if kind == "image_generation_call" and isinstance(value.get("result"), str):
        body.image(value, "result", child(pointer, "result"), "base64")
        for name in value:
            if name != "result" and not _structural(name, value[name]):
                _walk(body, value, name, child(pointer, name), "other")
        return
    for name in value:
        if _structural(name, value[name]):
            continue
        _walk(body, value, name, child(pointer, name), role)


def _image_part(body: JsonBody, part: dict[str, Any], pointer: str) -> None:
    if "file_id" in part:
        raise UnsupportedEndpoint("images by file id cannot be inspected")
    url = part.get("image_url")
    if isinstance(url, dict):  # chat completions: {"image_url": {"url": ..., "detail": ...}}
        body.image(url, "url", child(child(pointer, "image_url"), "url"), "url")
    elif isinstance(url, str):  # Responses: {"type": "input_image", "image_url": ...}
        body.image(part, "image_url", child(pointer, "image_url"), "url")
    else:
        raise MalformedRequest("an image part has no image_url")


def _image_tool(doc: dict[str, Any]) -> dict[str, Any] | None:
    tools = doc.get("tools")
    if not isinstance(tools, list):
        return None
    found = [t for t in tools if isinstance(t, dict) and t.get("type") == "image_generation"]
    return found[0] if found else None


def can_render(request: ImageRequest) -> bool:
    """Only a Responses call with the image tool is answered with images, and not streamed."""
    return (
        request.operation == "responses.create"
        and bool(request.params.get("image_tool"))
        and not request.params.get("stream")
        and request.params.get("output_format", "png") == "png"
    )


def render(request: ImageRequest, images: Sequence[bytes]) -> WireResponse:
    """A completed Response whose output is one image_generation_call per image."""
    params = request.params
    output = [
        {
            "type": "image_generation_call",
            "id": "ig_" + secrets.token_hex(16),
            "status": "completed",
            "result": base64.b64encode(png).decode("ascii"),
            "output_format": "png",
            **{n: params[n] for n in ("size", "quality", "background") if n in params},
        }
        for png in images
    ]
    response = {
        "id": "resp_" + secrets.token_hex(16),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": params.get("model", ""),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [{"type": "image_generation"}],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": None,
        "top_p": None,
        "usage": None,
    }
    return WireResponse(200, (("content-type", "application/json"),), json.dumps(response).encode())
