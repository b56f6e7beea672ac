"""``cloud-api``: what an operator or enterprise owner does by hand against the cloud API.

Talks to the running service (``--url``, default ``CLOUD_API_URL`` or
http://127.0.0.1:8000). Tokens: the operator's from ``CLOUD_API_ADMIN_TOKEN``, an
owner's from ``--token`` or ``CLOUD_API_TOKEN``.
Exit codes: 0 done, 1 the service refused (the reason is printed), 2 wrong usage,
3 the service could not be asked (unreachable, or the token was not accepted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from services.common.progress import ProgressBar

DEFAULT_URL = "http://127.0.0.1:8000"


class RefusedError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = args.handler(args)
    except RefusedError as refusal:
        print(f"cloud-api: {refusal}", file=sys.stderr)
        return refusal.code
    print(json.dumps(result, indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloud-api", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CLOUD_API_URL", DEFAULT_URL))
    parser.add_argument("--token", default=os.environ.get("CLOUD_API_TOKEN"), help="owner token")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-enterprise", help="create an enterprise (operator)")
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--seats", type=int, required=True)
    create.add_argument("--saml", action="store_true", help="the enterprise uses SAML/SCIM")
    create.set_defaults(handler=_create)
    connect = commands.add_parser("connect", help="connect a GHES instance (owner)")
    connect.add_argument("enterprise")
    connect.add_argument("--hostname", required=True)
    connect.add_argument("--server-id")
    connect.add_argument("--public-key")
    connect.add_argument("--upload-only", action="store_true")
    connect.set_defaults(handler=_connect)
    upload = commands.add_parser("upload", help="upload a signed export file (owner)")
    upload.add_argument("enterprise")
    upload.add_argument("file", type=Path)
    upload.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="a progress bar while sending (default: when stderr is a terminal)",
    )
    upload.set_defaults(handler=_upload)
    licenses = commands.add_parser("licenses", help="show consumed licenses (owner)")
    licenses.add_argument("--users", action="store_true", help="list persons, first 100")
    licenses.set_defaults(handler=_licenses)
    return parser


def _call(
    url: str,
    method: str,
    path: str,
    token: str | None,
    extra_headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Any:
    if not token:
        raise RefusedError(
            3, "no token: give --token, or set CLOUD_API_TOKEN / CLOUD_API_ADMIN_TOKEN"
        )
    try:
        response = httpx.request(
            method,
            url.rstrip("/") + path,
            headers={"Authorization": f"Bearer {token}", **(extra_headers or {})},
            timeout=600,
            **kwargs,
        )
    except httpx.TransportError as error:
        raise RefusedError(3, f"cannot reach the cloud API at {url}: {error}") from None
    if response.status_code == 401:
        raise RefusedError(3, "the token was not accepted (401)")
    if response.is_error:
        try:
            body = response.json()
            reason = f"{body['error']}: {body['detail']}"
        except (ValueError, KeyError, TypeError):
            reason = response.text[:300]
        raise RefusedError(1, f"{response.status_code} {reason}")
    return response.json()


def _create(args: argparse.Namespace) -> Any:
    body = {
        "slug": args.slug,
        "name": args.name,
        "seats_purchased": args.seats,
        "saml_enabled": args.saml,
    }
    operator = os.environ.get("CLOUD_API_ADMIN_TOKEN")
    return _call(args.url, "POST", "/admin/enterprises", operator, json=body)


def _connect(args: argparse.Namespace) -> Any:
    body: dict[str, Any] = {"hostname": args.hostname, "upload_only": args.upload_only}
    if args.server_id:
        body["server_id"] = args.server_id
    if args.public_key:
        body["public_key"] = args.public_key
    path = f"/enterprises/{args.enterprise}/server-instances"
    return _call(args.url, "POST", path, args.token, json=body)


def _upload(args: argparse.Namespace) -> Any:
    if not args.file.is_file():
        raise RefusedError(1, f"no such file: {args.file}")
    size = args.file.stat().st_size
    show = sys.stderr.isatty() if args.progress is None else args.progress
    bar = ProgressBar(f"uploading {args.file.name}", enabled=show)

    def chunks() -> Iterator[bytes]:
        sent = 0
        with args.file.open("rb") as handle:
            while chunk := handle.read(256 * 1024):
                sent += len(chunk)
                bar.update(sent, size)
                yield chunk

    path = f"/enterprises/{args.enterprise}/server-usage/uploads"
    headers = {"Content-Type": "application/json", "Content-Length": str(size)}
    try:  # the raw file as the body (the endpoint takes it as multipart or as JSON)
        return _call(args.url, "POST", path, args.token, content=chunks(), extra_headers=headers)
    finally:
        bar.finish()


def _licenses(args: argparse.Namespace) -> Any:
    params = {"include": "users", "per_page": 100} if args.users else None
    return _call(args.url, "GET", "/enterprise/licenses", args.token, params=params)


if __name__ == "__main__":
    sys.exit(main())
