"""The reference for read throughput: a FastAPI endpoint answering a constant body of the
size given in BENCH_BODY_BYTES, served by the same uvicorn settings as the cloud API."""

from __future__ import annotations

import os

from fastapi import FastAPI, Response


def create_app() -> FastAPI:
    body = b'{"pad":"' + b"x" * max(0, int(os.environ.get("BENCH_BODY_BYTES", "600")) - 10) + b'"}'
    app = FastAPI()

    @app.get("/constant")
    def constant() -> Response:
        return Response(body, media_type="application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app
