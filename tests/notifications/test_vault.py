"""Endpoint secrets at rest: encrypted, readable under a rotated key list, and a secret no key
decrypts fails its delivery visibly instead of sending an unsigned or stuck request."""

import pytest
from sqlalchemy import update

from notifications.dispatcher import Dispatcher
from notifications.signing import new_secret
from notifications.vault import SecretUnreadable, new_key, seal, unseal
from services.models import WebhookEndpoint
from services.runtime import Runtime
from tests.notifications.conftest import fast_config
from tests.notifications.helpers import add_endpoint, add_event, deliveries, fan_out, until
from tests.receiver import Receiver


def test_a_sealed_secret_survives_a_key_rotation_and_not_the_loss_of_its_key() -> None:
    old, new = new_key(), new_key()
    secret = new_secret()
    sealed = seal([old], secret)

    assert secret not in sealed
    assert unseal([old], sealed) == secret
    assert unseal([new, old], sealed) == secret  # the new key first: it encrypts from now on
    assert unseal([new], seal([new, old], secret)) == secret
    with pytest.raises(SecretUnreadable):
        unseal([new], sealed)
    assert unseal([new], "whsec_plain") == "whsec_plain"  # a row from before encryption


async def test_a_secret_no_key_decrypts_fails_the_attempt_visibly(
    committed_runtime: Runtime, receiver: Receiver
) -> None:
    runtime = committed_runtime
    endpoint = await add_endpoint(runtime, receiver.url)
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint.id)
            .values(secret=seal([new_key()], new_secret()))
        )
        await session.commit()
    await fan_out(runtime, await add_event(runtime))

    async with Dispatcher(runtime, fast_config(runtime.settings)):

        async def attempted() -> bool:
            return all(d.attempts >= 1 for d in await deliveries(runtime))

        await until(attempted)

    (failed,) = await deliveries(runtime)
    assert receiver.received == []
    assert failed.last_error is not None and "secret is unreadable" in failed.last_error
