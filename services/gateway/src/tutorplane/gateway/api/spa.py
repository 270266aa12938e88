"""Serve the built web app from the same origin, with SPA fallback to index.html.

API, docs and probe paths never fall back: an unknown ``/api/...`` path is a JSON 404.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

log = logging.getLogger(__name__)

_NO_FALLBACK = ("api/", "healthz", "readyz", "metrics")


def mount_spa(app: FastAPI, dist: Path) -> None:
    root = dist.resolve()
    index = root / "index.html"
    if not index.is_file():
        log.warning("frontend not built; not serving it", extra={"dist": str(root)})
        return

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> FileResponse:
        if path.startswith(_NO_FALLBACK):
            raise HTTPException(404, f"no such endpoint: /{path}; see /api/docs")
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                cache = (
                    "public, max-age=31536000, immutable"
                    if "/assets/" in f"/{path}"
                    else "public, max-age=300"
                )
                return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
