"""Parsers that turn every malformed body into a 400, never a 500.

DRF's ``JSONParser`` lets ``RecursionError`` from deeply nested JSON escape (a 500),
silently keeps the last of duplicate keys, and accepts any top-level value. DRF's
``FormParser`` keeps every value of a repeated key and ``.get()`` answers the last one.
"""

from __future__ import annotations

import codecs
import io
import json
from typing import Any

from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser

MAX_DEPTH = 32


def read_body(stream: Any, parser_context: Any) -> bytes:
    """The whole body; one shorter than its ``Content-Length`` is 400. A client that stops
    mid-body and closes its side gives the server a truncated body that may still parse
    (``password=hunt`` of ``password=hunter2``): it is refused, not acted on."""
    raw = stream.read() if stream is not None else b""
    request = (parser_context or {}).get("request")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        declared = 0
    if len(raw) < declared:
        raise ParseError("The request body is shorter than its Content-Length.")
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ParseError(f"Duplicate key {key!r} in JSON body.")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ParseError(f"{name} is not valid JSON.")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ParseError("Number out of range.")
    return value


def _depth(value: Any, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            raise ParseError("JSON body is nested too deeply.")
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)


class StrictJSONParser(JSONParser):
    """UTF-8 JSON objects only; duplicate keys, NaN/Infinity and deep nesting are 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        # Django silently drops a charset it cannot look up (`x-unknown`) and decodes as
        # UTF-8; the header itself is checked here so that any named charset but UTF-8 is 400.
        _, params = parse_header_parameters(media_type or "")
        encoding = params.get("charset") or parser_context.get("encoding") or "utf-8"
        try:
            if codecs.lookup(encoding).name != "utf-8":
                raise ParseError("JSON bodies must be UTF-8.")
        except LookupError as exc:
            raise ParseError("Unsupported charset.") from exc
        raw = read_body(stream, parser_context)
        try:
            text = raw.decode("utf-8")
            data = json.loads(
                text,
                object_pairs_hook=_no_duplicates,
                parse_constant=_reject_constant,
                parse_float=_finite_float,
            )
        except ParseError:
            raise
        except (ValueError, RecursionError) as exc:
            raise ParseError("Malformed JSON body.") from exc
        if not isinstance(data, dict):
            raise ParseError("The JSON body must be an object.")
        _depth(data, MAX_DEPTH)
        return data


class StrictFormParser(FormParser):
    """``application/x-www-form-urlencoded`` (the OAuth2 password form of login); a key sent
    twice (``username=a&username=b``) is 400, as duplicate JSON keys are:
    a proxy that reads the first value and a server that reads the last would otherwise
    disagree about who is logging in."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None
              ) -> Any:
        raw = read_body(stream, parser_context)
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        for key, values in data.lists():
            if len(values) > 1:
                raise ParseError(f"Duplicate key {key!r} in the form body.")
        return data
