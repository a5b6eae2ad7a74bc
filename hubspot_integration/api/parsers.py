"""The API's JSON parser: a body nested too deeply is a 400 with a message, not a RecursionError.

`json.load` recurses once per level, so `[[[[...]]]]` 100,000 deep raises RecursionError (a 500)
long before any size cap; and a body a few hundred levels deep would still make every later step
(validation, copying, rendering) recurse as deep. Nothing the API accepts nests more than a few
levels, so anything beyond `HUBSPOT_API_MAX_JSON_DEPTH` is refused before it reaches a view.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from ..conf import app_settings


def too_deep(data, limit: int) -> bool:
    """True when lists and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = app_settings.API_MAX_JSON_DEPTH
        message = _(
            "The JSON body is nested too deeply (more than %(limit)s levels of lists/objects)."
        ) % {"limit": limit}
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if too_deep(data, limit):
            raise ParseError(message)
        return data
