"""``linclass playground``: the interactive linear-classifier page, served locally or exported."""

from __future__ import annotations

import argparse
import errno
import sys
import webbrowser

from linclass.cli import CommandError, HelpFormatter, common_options

DEFAULT_PORT = 8231

EPILOG = """\
examples:
  linclass playground
      serve the page on http://127.0.0.1:8231/ and open it in the browser (Ctrl-C stops)
  linclass playground --port 9000 --no-browser
      serve on another port and only print the address
  linclass playground --export site
      write the page to site/ as static files for any web server (works offline)
"""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {port}")
    return port


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "playground",
        parents=[common_options()],
        help="open the interactive linear-classifier playground in the browser",
        description=(
            "Serve the playground on 127.0.0.1: 2-D points, W and b with their gradients, the SVM\n"
            "and softmax losses, gradient checks, an optimizer race and more, all live. With\n"
            "--export, write the page as static files instead."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1 (default: {DEFAULT_PORT}; 0: any free port)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open a browser, only print the address"
    )
    parser.add_argument("--export", metavar="DIR", help="write the page's static files into DIR and exit")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from linclass.app.playground import export, make_server

    if args.export is not None:
        written = export(args.export)
        if not args.quiet:
            print(f"wrote {len(written)} files to {args.export}; serve the folder with any web server")
        return 0
    try:
        server = make_server(args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {args.port} is in use; choose another with --port (0 picks a free one)"
            ) from None
        raise
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"playground at {url} (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("playground stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
