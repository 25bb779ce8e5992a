"""Input the database cannot store is refused as invalid (422), never a server error."""

import httpx

from tests.notifications.test_api import ACEH, ENDPOINTS, field_errors


async def test_a_url_longer_than_its_column_once_normalized_is_refused(
    client: httpx.AsyncClient,
) -> None:
    # 2048 characters as sent; normalizing adds the trailing slash of the empty path.
    url = "https://" + "a" * (2048 - len("https://"))

    response = await client.post(ENDPOINTS, json={**ACEH, "url": url})

    assert field_errors(response) == [("/url", "value_error")]


async def test_text_with_a_nul_character_is_refused_wherever_it_is(
    client: httpx.AsyncClient,
) -> None:
    for body in ({**ACEH, "description": "Aceh\u0000"}, {**ACEH, "region_codes": ["1\u00001"]}):
        response = await client.post(ENDPOINTS, json=body)

        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "U+0000" in response.json()["detail"]
