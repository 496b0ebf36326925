"""The interactive linear-classifier playground: a static page (``static/``) and its local server.

The page is plain JavaScript modules and canvas drawing, with no build step and no network
request; :func:`export` copies it to a folder any web server can serve, :func:`make_server`
serves it on ``127.0.0.1``.
"""

from linclass.app.playground.server import export, make_server, static_files

__all__ = ["export", "make_server", "static_files"]
