"""Loads the content's application object named by a ``module:object`` entrypoint.

Shared by Lectern's WSGI and ASGI wrappers. The object may be a dotted attribute path
(``app:app.server`` for Dash) and may end in ``()`` for an application factory.
"""
import importlib
import os
import re
import sys

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_OBJECT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(\))?$")


def load(variable):
    """The object named by the environment variable ``variable`` (``module:object``)."""
    spec = os.environ.get(variable, "")
    module_name, _, attr = spec.partition(":")
    attr = attr or "app"
    if not _MODULE.match(module_name) or not _OBJECT.match(attr):
        raise RuntimeError(
            "Lectern: %s=%r is not a valid entrypoint; expected module:object, e.g. app:app" % (variable, spec)
        )
    # The bundle is the working directory: its modules come first.
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    module = importlib.import_module(module_name)
    call = attr.endswith("()")
    obj = module
    for part in (attr[:-2] if call else attr).split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RuntimeError(
                "Lectern: module %r has no attribute %r (entrypoint %r); name the application object "
                "in the manifest's entrypoint as module:object" % (module_name, attr, spec)
            ) from None
    return obj() if call else obj


_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


def base_path(value):
    """The public base path from the proxy's X-Lectern-Base-Path header, without its trailing
    slash ('' for the root or a missing or malformed value)."""
    if not value or not _SAFE_PATH.match(value) or "//" in value:
        return ""
    return value.rstrip("/")
