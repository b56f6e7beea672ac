"""A small fake GHES: the all_users.csv report with its 202-then-200 sequence, the license
and meta endpoints, and the enterprise's Advanced Security active committers (paged by
repository, with GitHub's Link header), served over real HTTPS with a test certificate
authority."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

TOKEN = "ghp_site-admin-token"


@dataclass
class FakeGhesState:
    users_csv: str = ""
    preparing_answers: int = 2
    """How many 202 answers come before the report is ready."""
    status: dict[str, int] = field(default_factory=dict)
    """Forced status per path, e.g. {"/api/v3/meta": 503}."""
    license: dict[str, Any] = field(
        default_factory=lambda: {
            "seats": 1400,
            "seats_used": 1316,
            "seats_available": 84,
            "kind": "standard",
            "days_until_expiration": 365,
            "expire_at": "2027/06/30 12:41:52 -0600",
        }
    )
    version: str = "3.14.2"
    enterprise: str = "acme"
    committers: dict[str, list[str]] = field(default_factory=dict)
    """Per repository (``org/repo``): the logins that pushed to it in the last 90 days."""
    purchased_committers: int = 100
    requests: list[str] = field(default_factory=list)
    """Paths asked for (the committers' with their ``page``)."""


def create_fake_ghes(state: FakeGhesState) -> FastAPI:
    app = FastAPI()

    def gate(path: str, authorization: str | None, seen: str | None = None) -> Response | None:
        state.requests.append(seen or path)
        if path in state.status:
            return JSONResponse({"message": "forced"}, status_code=state.status[path])
        if authorization != f"token {TOKEN}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return None

    @app.get("/stafftools/reports/all_users.csv")
    def all_users(authorization: str | None = Header(None)) -> Response:
        refused = gate("/stafftools/reports/all_users.csv", authorization)
        if refused is not None:
            return refused
        if state.preparing_answers > 0:
            state.preparing_answers -= 1
            return PlainTextResponse("Report is being generated", status_code=202)
        return PlainTextResponse(state.users_csv, media_type="text/csv")

    @app.get("/api/v3/enterprise/settings/license")
    def license_info(authorization: str | None = Header(None)) -> Response:
        return gate("/api/v3/enterprise/settings/license", authorization) or JSONResponse(
            state.license
        )

    @app.get("/api/v3/meta")
    def meta(authorization: str | None = Header(None)) -> Response:
        return gate("/api/v3/meta", authorization) or JSONResponse(
            {"installed_version": state.version, "verifiable_password_authentication": True}
        )

    @app.get("/api/v3/enterprises/{enterprise}/settings/billing/advanced-security")
    def advanced_security(
        request: Request,
        enterprise: str,
        per_page: int = Query(30),
        page: int = Query(1),
        authorization: str | None = Header(None),
    ) -> Response:
        path = f"/api/v3/enterprises/{enterprise}/settings/billing/advanced-security"
        refused = gate(path, authorization, f"{path}?page={page}")
        if refused is not None:
            return refused
        if enterprise != state.enterprise:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        per_page = min(max(per_page, 1), 100)
        names = sorted(state.committers)
        body = committers_body(state, names[(page - 1) * per_page : page * per_page])
        last = max(1, -(-len(names) // per_page))
        link = link_header(str(request.url.remove_query_params("page")), page, last)
        return JSONResponse(body, headers={"Link": link} if link else {})

    return app


def committers_body(state: FakeGhesState, names: list[str]) -> dict[str, Any]:
    """GitHub's documented answer for one page of repositories."""
    everyone = {login.lower() for logins in state.committers.values() for login in logins}
    return {
        "total_advanced_security_committers": len(everyone),
        "total_count": len(state.committers),
        "maximum_advanced_security_committers": len(everyone),
        "purchased_advanced_security_committers": state.purchased_committers,
        "repositories": [
            {
                "name": name,
                "advanced_security_committers": len(state.committers[name]),
                "advanced_security_committers_breakdown": [
                    {
                        "user_login": login,
                        "last_pushed_date": "2026-11-20",
                        "last_pushed_email": f"{login.lower()}@example.com",
                    }
                    for login in state.committers[name]
                ],
            }
            for name in names
        ],
    }


def link_header(base: str, page: int, last: int) -> str:
    """GitHub's Link header: next and last, prev and first where they apply."""
    join = "&" if "?" in base else "?"

    def url(n: int) -> str:
        return f"<{base}{join}page={n}>"

    links = []
    if page > 1:
        links.append(f'{url(page - 1)}; rel="prev"')
    if page < last:
        links += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
    if page > 1:
        links.append(f'{url(1)}; rel="first"')
    return ", ".join(links)


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_pki(directory: Path) -> Pki:
    """A CA, and a certificate it issues for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "license-sync test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ghes.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


@contextmanager
def serve_https(app: FastAPI, pki: Pki, *, lifespan: str = "off") -> Iterator[str]:
    """Serve ``app`` over HTTPS on a loopback port in a thread; stopped on exit. With
    ``lifespan="on"`` the app starts (and stops) in that thread, on the server's loop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(pki.cert_file),
        ssl_keyfile=str(pki.key_file),
        log_level="warning",
        lifespan=lifespan,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(3000):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(timeout=10)
        raise RuntimeError("the HTTPS test server did not start within 30 s")
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
