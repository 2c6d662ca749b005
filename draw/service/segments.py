"""Routes matched on the path as the client sent it, one percent-decoded segment at a time.

Starlette matches a route against the decoded path (``scope["path"]``), where ``%2F`` has already
become ``/``, so a path parameter can never hold a slash: ``/draws/D/disclosures/doc:a%2Fb`` is
routed as if it had one segment more. A :class:`SegmentRoute` matches the request target as sent
(``scope["raw_path"]``) instead: it splits it at the slashes that were sent as slashes, decodes each
segment by itself (RFC 3986 percent-decoding, then UTF-8), and compares the segments with its
template's, literal for literal. A parameter is then one whole segment, whatever it holds::

    /api/v1/draws/HZ-2026-7/disclosures/doc%3A2025%2F017%25   ->  object_id = "doc:2025/017%"

Literal segments match whether or not the client encoded their characters (``%64isclosures`` is
``disclosures``, RFC 3986 §6.2.2.2). Without ``raw_path`` (an ASGI server may omit it), or when it
does not start with the mount's prefix, the route falls back to Starlette's matching of the decoded
path. A segment that does not decode to UTF-8 text matches no parameter.
"""

from __future__ import annotations

import urllib.parse

from starlette.routing import Match
from starlette.types import Scope

from draw.service.routing import ApiRoute


def raw_segments(raw_path: bytes) -> list[str] | None:
    """Return the percent-decoded segments of ``raw_path`` (``b"/a/b%2Fc"`` -> ``["", "a", "b/c"]``),
    or None if a segment is not UTF-8 once decoded."""
    try:
        return [urllib.parse.unquote_to_bytes(part).decode("utf-8") for part in raw_path.split(b"/")]
    except UnicodeDecodeError:
        return None


def _params(template: list[str], segments: list[str]) -> dict[str, str] | None:
    """Return the parameters of ``template``'s segments (``{name}`` or literal) in ``segments``."""
    if len(template) != len(segments):
        return None
    found: dict[str, str] = {}
    for want, got in zip(template, segments, strict=True):
        if want.startswith("{") and want.endswith("}"):
            if not got:
                return None
            found[want[1:-1]] = got
        elif want != got:
            return None
    return found


class SegmentRoute(ApiRoute):
    """An :class:`ApiRoute` whose parameters are whole segments of the path as sent (module docstring).

    Its template's parameters must be plain ``{name}`` segments (no convertors, no partial segments).
    """

    def __init__(self, route: ApiRoute) -> None:
        super().__init__(route.path, route.endpoint, route.method, route.operation, route.handler)
        self.template = route.path.split("/")
        if any("{" in part and not (part.startswith("{") and part.endswith("}")) for part in self.template):
            raise ValueError(f"segments: {route.path}: a parameter must be a whole segment")
        if any(":" in part for part in self.template):
            raise ValueError(f"segments: {route.path}: parameters take no convertor")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope["type"] != "http" or not isinstance(raw, bytes):
            return super().matches(scope)
        segments = raw_segments(raw)
        prefix = str(scope.get("root_path", "")).split("/")
        if segments is None or segments[: len(prefix)] != prefix:
            return super().matches(scope) if segments is not None else (Match.NONE, {})
        params = _params(self.template, ["", *segments[len(prefix) :]])
        if params is None:
            return Match.NONE, {}
        child: Scope = {"endpoint": self.endpoint, "path_params": {**scope.get("path_params", {}), **params}}
        if self.methods and scope["method"] not in self.methods:
            return Match.PARTIAL, child
        return Match.FULL, child


__all__ = ["SegmentRoute", "raw_segments"]
