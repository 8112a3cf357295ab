"""``registry serve`` (the web viewer and HTTP API) and ``registry tokens`` (the API's write tokens)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from registry.output import Output, add_common


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve pages and the /api/v1 HTTP API over this registry",
                       description="Binds 127.0.0.1 unless --host says otherwise. Writes (register, promote, "
                       "rollback) are off unless --allow-writes, and then every write needs a token from "
                       "`registry tokens create`; on a non-loopback address writes also need --tls-cert/--tls-key "
                       "or --behind-proxy (a TLS-terminating reverse proxy).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--allow-writes", action="store_true", help="enable the token-guarded write endpoints")
    p.add_argument("--behind-proxy", action="store_true",
                   help="a TLS-terminating reverse proxy is in front (trusts its X-Forwarded-* headers)")
    p.add_argument("--tls-cert", type=Path, help="certificate file (PEM) to serve HTTPS")
    p.add_argument("--tls-key", type=Path, help="private key file (PEM) of --tls-cert")
    p.add_argument("--max-upload-mb", type=float, default=2048, help="largest accepted upload (default 2048 MB)")
    p.add_argument("--jobs", type=int, default=4, help="promotions run at once (others queue; default 4)")
    p.add_argument("--allowed-host", action="append", default=None, metavar="NAME",
                   help="host name clients address the server by (repeatable; default: the loopback names when "
                        "bound to loopback, else any)")
    add_common(p)
    p.set_defaults(handler=run_serve)

    p = sub.add_parser("tokens", help="create, list and revoke the HTTP API's write tokens")
    tsub = p.add_subparsers(dest="tokens_command", metavar="ACTION")
    q = tsub.add_parser("create", help="create a token; its secret is printed once and stored only as a hash")
    q.add_argument("name", help="token name; recorded in the ledger as the actor of its writes")
    q.add_argument("--family", action="append", default=[], help="family it may write (repeatable; default all)")
    q.add_argument("--alias", action="append", default=[],
                   help="alias it may move (repeatable; default none: it may only register)")
    add_common(q)
    q.set_defaults(handler=run_tokens_create)
    q = tsub.add_parser("list", help="list tokens (names and scopes; secrets are never stored)")
    add_common(q)
    q.set_defaults(handler=run_tokens_list)
    q = tsub.add_parser("revoke", help="revoke a token; its secret stops working at once")
    q.add_argument("name")
    add_common(q)
    q.set_defaults(handler=run_tokens_revoke)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serve_args(args: argparse.Namespace) -> None:
    """Refuse settings that would expose writes without transport security, or half-given TLS."""
    from registry.errors import InvalidInput

    if not 0 <= args.port <= 65535:
        raise InvalidInput(f"--port {args.port} is not a TCP port")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise InvalidInput("--tls-cert and --tls-key go together")
    for given in (args.tls_cert, args.tls_key):
        if given is not None and not given.is_file():
            raise InvalidInput(f"{given} does not exist")
    if args.allow_writes and not is_loopback(args.host) and args.tls_cert is None and not args.behind_proxy:
        raise InvalidInput(f"refusing --allow-writes on {args.host}, which is not a loopback address, without "
                           "--tls-cert/--tls-key or --behind-proxy: tokens would cross the network in clear text")
    if args.max_upload_mb <= 0 or args.jobs < 1:
        raise InvalidInput("--max-upload-mb must be positive and --jobs at least 1")


def run_serve(args: argparse.Namespace, out: Output) -> int:
    import uvicorn

    from registry.app import App
    from registry.web.app import LOOPBACK_NAMES, create_app

    check_serve_args(args)
    home = App.from_args(args).home
    hosts = frozenset(h.lower() for h in args.allowed_host) if args.allowed_host else (
        LOOPBACK_NAMES if is_loopback(args.host) else None)
    web = create_app(home, writes=args.allow_writes, max_upload=int(args.max_upload_mb * 2**20), workers=args.jobs,
                     hosts=hosts)
    scheme = "https" if args.tls_cert else "http"
    out.info(f"serving {home} on {scheme}://{args.host}:{args.port}/ "
             f"({'writes with tokens' if args.allow_writes else 'read-only'}); Ctrl-C stops")
    uvicorn.run(web, host=args.host, port=args.port, log_level="warning",
                ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
                ssl_keyfile=str(args.tls_key) if args.tls_key else None,
                proxy_headers=args.behind_proxy, server_header=False)
    return 0


def run_tokens_create(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.web.tokens import create_token

    token, secret = create_token(App.from_args(args).store, args.name, families=args.family, aliases=args.alias)
    scope = (f"families {', '.join(token.families) or 'all'}; aliases {', '.join(token.aliases) or 'none'}")
    out.emit({**token.to_dict(), "secret": secret},
             f"token {token.name} ({scope}):\n{secret}\nthis secret is shown once; only its hash is stored")
    return 0


def run_tokens_list(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.web.tokens import list_tokens

    tokens = list_tokens(App.from_args(args).store)
    lines = [f"{'NAME':<24} {'FAMILIES':<20} {'ALIASES':<24} {'CREATED':<26} REVOKED"]
    lines += [f"{t.name:<24} {','.join(t.families) or '(all)':<20} {','.join(t.aliases) or '(none)':<24} "
              f"{t.created_at:<26} {t.revoked_at or '-'}" for t in tokens]
    out.emit({"tokens": [t.to_dict() for t in tokens]}, "\n".join(lines) if tokens else "no tokens")
    return 0


def run_tokens_revoke(args: argparse.Namespace, out: Output) -> int:
    from registry.app import App
    from registry.web.tokens import revoke_token

    token = revoke_token(App.from_args(args).store, args.name)
    out.emit(token.to_dict(), f"token {token.name} revoked at {token.revoked_at}")
    return 0
