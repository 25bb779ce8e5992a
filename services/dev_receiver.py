"""A webhook receiver for trying Aduan locally: prints each delivery, verifies its signature.

What a regional system's endpoint does, in twenty lines: `aduan webhook-receiver --port 9000`.
"""

import json

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_receiver(secret: str | None) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        verdict = "unverified (no --secret)"
        if secret:
            try:
                Webhook(secret).verify(body, dict(request.headers))
                verdict = "signature OK"
            except WebhookVerificationError as exc:
                print(f"REJECTED {request.headers.get('webhook-id')}: {exc}", flush=True)
                return Response(status_code=400)
        payload = json.loads(body)
        print(
            f"{request.headers.get('webhook-id')} {payload.get('type')} {verdict}\n"
            f"{json.dumps(payload, indent=2, ensure_ascii=False)}",
            flush=True,
        )
        return Response(status_code=204)

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


def run_receiver(host: str, port: int, secret: str | None) -> None:
    uvicorn.run(create_receiver(secret), host=host, port=port, log_level="warning")
