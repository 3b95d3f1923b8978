"""Lectern's WSGI wrapper: serves the content's WSGI application (LECTERN_WSGI_APP,
``module:object``) mounted at the public path the proxy reports.

Lectern's proxy strips the public prefix (``/content/<guid>/`` or a vanity path) and sends it
in ``X-Lectern-Base-Path``. Setting SCRIPT_NAME from it per request makes ``url_for()`` and
redirects carry the prefix, whichever path the visitor came by. Served by gunicorn as
``lectern_wsgi:app``; the content's application is imported when gunicorn asks for ``app``
(in the worker, after the fork, as without the wrapper).
"""
from urllib.parse import unquote_to_bytes, urlsplit

from lectern_target import base_path, load

_target = None


def _app(environ, start_response):
    # Gunicorn 20 takes a client's "SCRIPT_NAME" header as the mount point and cuts PATH_INFO
    # with it; undo that, since the mount point is the proxy's to say.
    if "HTTP_SCRIPT_NAME" in environ and "RAW_URI" in environ:
        path = urlsplit(environ["RAW_URI"]).path or "/"
        environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
        del environ["HTTP_SCRIPT_NAME"]
    environ["SCRIPT_NAME"] = base_path(environ.get("HTTP_X_LECTERN_BASE_PATH"))
    return _target(environ, start_response)


def __getattr__(name):
    global _target
    if name != "app":
        raise AttributeError(name)
    if _target is None:
        try:
            _target = load("LECTERN_WSGI_APP")
        except AttributeError as err:
            # gunicorn would report any AttributeError as "Failed to find attribute 'app'".
            raise RuntimeError("Lectern: loading the application failed: %s" % err) from err
    return _app
