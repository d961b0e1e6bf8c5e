"""Reading of Google's JSON request bodies (Gemini API and Vertex AI): a walk over the whole
document that finds every image, wherever it sits, and reads every other string as text.

Field names are accepted in both spellings that Google's JSON parsers accept (`inline_data`
and `inlineData`); an object that gives one field under both spellings is refused, because
two readers could pick different copies.
"""

from __future__ import annotations

import re
from typing import Any

from proxy.errors import MalformedRequest, UnsupportedEndpoint
from proxy.providers.jsonbody import MAX_DEPTH, JsonBody, child, is_link

# Enumerations the API validates, inside generationConfig / Imagen parameters: kept as params
# (the gate still reads them as text, with every key and number: proxy/providers/jsonrest.py).
ENUMS = frozenset(
    {
        "aspectRatio",
        "imageSize",
        "mediaResolution",
        "mimeType",
        "outputMimeType",
        "personGeneration",
        "responseMimeType",
        "responseModalities",
        "safetySetting",
        "sampleImageSize",
        "editMode",
        "thinkingLevel",
    }
)
_MASK_KEYS = frozenset({"mask", "maskImage"})
_IMAGE_TYPE = re.compile(r"image/[a-z0-9][a-z0-9.+-]{0,63}")
_SNAKE = re.compile(r"_([a-z0-9])")


def camel(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def spellings(obj: dict[str, Any]) -> dict[str, str]:
    """camelCase name -> the key as written; refuses a field given under two spellings."""
    names: dict[str, str] = {}
    for key in obj:
        name = camel(key)
        if name in names:
            raise MalformedRequest("JSON body gives a field under two spellings")
        names[name] = key
    return names


def field(obj: dict[str, Any], name: str) -> Any:
    """obj's value for camelCase `name` under either spelling, or None."""
    key = spellings(obj).get(name)
    return None if key is None else obj[key]


class Walker:
    """Records the strings and images of one body into its `JsonBody`.

    `files` maps the ref of each image given by link (fileData) to the part holding it, so a
    redacted copy can be written back inline: a fileUri cannot carry bytes.
    """

    def __init__(self, body: JsonBody) -> None:
        self.body = body
        self.files: dict[str, tuple[dict[str, Any], str]] = {}
        self.config: set[str] = set()  # pointers of generationConfig / Imagen parameters

    def walk_all(self) -> None:
        """Walk the whole document once; call after `config` is filled in."""
        self.visit(self.body.doc, "", "image", False)

    def walk(
        self, container: Any, key: Any, pointer: str, role: str = "image", config: bool = False
    ) -> None:
        if pointer.count("/") > MAX_DEPTH:  # keys are escaped, so "/" counts levels
            raise MalformedRequest("JSON body is nested too deeply")
        value, config = container[key], config or pointer in self.config
        enum = config and isinstance(key, str) and camel(key) in ENUMS
        if enum and (isinstance(value, str) or _strings(value)):
            return
        if isinstance(value, str):
            self.body.text(container, key, pointer)
        elif isinstance(value, list):
            for index in range(len(value)):
                self.walk(value, index, child(pointer, index), role, config)
        elif isinstance(value, dict):
            self.visit(value, pointer, role, config)

    def visit(self, obj: dict[str, Any], pointer: str, role: str, config: bool) -> None:
        names = spellings(obj)
        if "inlineData" in names and "fileData" in names:
            raise MalformedRequest("a part has both inlineData and fileData")
        if "gcsUri" in names:
            raise UnsupportedEndpoint("images by Cloud Storage URI (gcsUri) cannot be inspected")
        kind = obj.get(names.get("referenceType", ""))
        role = "mask" if kind == "REFERENCE_TYPE_MASK" else role
        raw = "bytesBase64Encoded" in names
        if raw:
            self._image(
                obj, names["bytesBase64Encoded"], pointer, role, obj.get(names.get("mimeType", ""))
            )
        for key in obj:
            name, here = camel(key), child(pointer, key)
            if name == "inlineData":
                self._inline(obj, key, here, role)
            elif name == "fileData":
                self._file(obj, key, here, role)
            elif not (raw and name in ("bytesBase64Encoded", "mimeType")):
                self.walk(obj, key, here, "mask" if name in _MASK_KEYS else role, config)

    def _image(self, obj: dict[str, Any], key: str, pointer: str, role: str, media: object) -> None:
        if media is not None and not isinstance(media, str):
            raise MalformedRequest("mimeType must be a string")
        self.body.image(obj, key, child(pointer, key), "base64", role, media)

    def _inline(self, obj: dict[str, Any], key: str, pointer: str, role: str) -> None:
        value = _object(obj[key], "inlineData")
        names = spellings(value)
        media = _media_type(value.get(names.get("mimeType", "")), "inline data", required=True)
        if "data" not in names:
            raise MalformedRequest("inlineData has no data")
        self._image(value, names["data"], pointer, role, media)
        for name, k in names.items():
            if name not in ("data", "mimeType"):
                self.walk(value, k, child(pointer, k), role)

    def _file(self, obj: dict[str, Any], key: str, pointer: str, role: str) -> None:
        value = _object(obj[key], "fileData")
        names = spellings(value)
        media = _media_type(value.get(names.get("mimeType", "")), "file data", required=False)
        uri_key = names.get("fileUri")
        if uri_key is None or not isinstance(value[uri_key], str):
            raise MalformedRequest("fileData needs a fileUri string")
        if not is_link(value[uri_key]):
            raise UnsupportedEndpoint("files by a URI other than http(s) cannot be inspected")
        self.body.image(value, uri_key, child(pointer, uri_key), "url", role, media)
        self.files["json:" + child(pointer, uri_key)] = (obj, key)
        for name, k in names.items():
            if name not in ("fileUri", "mimeType"):
                self.walk(value, k, child(pointer, k), role)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRequest(f"{name} must be an object")
    return value


def _media_type(value: object, what: str, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or "/" not in value:
        raise MalformedRequest(f"{what} needs a mimeType")
    media = value.lower()
    if not _IMAGE_TYPE.fullmatch(media):
        raise UnsupportedEndpoint(f"{what} that is not an image cannot be inspected")
    return media
