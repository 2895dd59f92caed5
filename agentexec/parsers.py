"""The API's JSON parser: a size cap while reading and a nesting limit, both before any view
sees the body."""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from agentexec.errors import ApplicationError, PayloadTooLarge

MAX_JSON_DEPTH = 64  # no request of this API nests more than a few levels


def body_too_large(limit: int, setting: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is over the limit of {limit} bytes ({setting}).")


def nested_too_deep() -> ApplicationError:
    reason = f"nested deeper than {MAX_JSON_DEPTH} levels"
    return ApplicationError(f"The request body is JSON {reason}.", fields={"body": [reason]})


def depth_exceeds(data: Any, limit: int) -> bool:
    """Whether `data` nests lists and objects deeper than `limit`; without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, (dict, list)):
            continue  # a scalar body (null, 3, "text") nests nothing
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


class JSONParser(parsers.JSONParser):
    """Reads at most MAX_JSON_BODY_BYTES (+1 to notice more) whatever Content-Length said, so a
    body of unknown length is capped too; a body nested past MAX_JSON_DEPTH is a 400 whether
    the standard library's parser gives up on it (RecursionError) or not."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.MAX_JSON_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise body_too_large(limit, "MAX_JSON_BODY_BYTES")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=strict_constant if self.strict else None)
        except RecursionError:
            raise nested_too_deep() from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if depth_exceeds(data, MAX_JSON_DEPTH):
            raise nested_too_deep()
        return data
