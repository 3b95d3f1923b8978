"""Lectern's ASGI wrapper: serves the content's ASGI application (LECTERN_ASGI_APP,
``module:object``) mounted at the public path the proxy reports.

Lectern's proxy strips the public prefix and sends it in ``X-Lectern-Base-Path``; this sets the
scope's ``root_path`` from it per request, so generated URLs (``url_for``, the OpenAPI docs)
carry it. Two conventions exist for ``path``: Starlette before ``get_route_path`` (Debian's
0.26) routes on ``path`` and expects it without the root path, as old uvicorn sent it; newer
Starlette and uvicorn follow the ASGI spec, where ``path`` includes ``root_path``. The wrapper
follows whichever the installed Starlette expects (for other frameworks, what the installed
uvicorn would do with ``--root-path``). Served by uvicorn as ``lectern_asgi:app``.
"""
from lectern_target import base_path, load

target = load("LECTERN_ASGI_APP")


def _full_paths():
    try:
        from starlette._utils import get_route_path  # noqa: F401

        return True
    except ImportError:
        pass
    try:
        import starlette  # noqa: F401

        return False
    except ImportError:
        pass
    try:
        import uvicorn

        return tuple(int(p) for p in uvicorn.__version__.split(".")[:2]) >= (0, 26)
    except Exception:
        return True


FULL_PATHS = _full_paths()


async def app(scope, receive, send):
    if scope["type"] in ("http", "websocket"):
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"x-lectern-base-path":
                header = value.decode("latin-1")
                break
        root = base_path(header)
        if root:
            scope = dict(scope)
            scope["root_path"] = root
            if FULL_PATHS:
                scope["path"] = root + scope["path"]
                if scope.get("raw_path") is not None:
                    scope["raw_path"] = root.encode("latin-1") + scope["raw_path"]
    await target(scope, receive, send)
