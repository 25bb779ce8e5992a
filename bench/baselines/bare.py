"""Baseline (a): bare FastAPI, one pydantic POST route answering 201."""

import uuid
from typing import Any

from fastapi import FastAPI

from bench.baselines.schema import ComplaintIn

app = FastAPI()


@app.post("/api/v1/complaints", status_code=201)
async def create(payload: ComplaintIn) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "status": "submitted", "title": payload.title}
