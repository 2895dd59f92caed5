"""Content negotiation for endpoints whose body is not JSON (event streams, file downloads).

They answer their own media type (or a JSON error) whatever the Accept header says, so a client
asking for `application/octet-stream`, `text/event-stream` or `*/*` is never refused with 406.
"""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation


class AnyAcceptNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type
