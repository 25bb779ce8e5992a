"""The regions and ranking answers are serialised from plain data without pydantic (it cost
more than computing them): the bytes must be the ones the response models would write, and
valid against them, on the acceptance set (small measures, nulls, empty counts included)."""

import httpx
import pytest

from routing.stats.schemas import RankingOut, RegionsOut
from tests.routing.stats.test_acceptance import PERIOD, ops  # noqa: F401  (the fixture)


@pytest.mark.parametrize(
    ("path", "params", "shape"),
    [
        ("/api/v1/stats/regions", {"level": "province"}, RegionsOut),
        ("/api/v1/stats/regions", {"level": "regency"}, RegionsOut),
        ("/api/v1/stats/regions", {"level": "regency", "province": "11"}, RegionsOut),
        ("/api/v1/stats/regions", {"level": "province", "category": "kesehatan"}, RegionsOut),
        ("/api/v1/stats/ranking", {"level": "province"}, RankingOut),
        ("/api/v1/stats/ranking", {"level": "regency"}, RankingOut),
    ],
)
async def test_the_answer_is_what_its_response_model_would_write(
    ops: httpx.AsyncClient,  # noqa: F811
    path: str,
    params: dict[str, str],
    shape: type[RegionsOut] | type[RankingOut],
) -> None:
    response = await ops.get(path, params={**params, **PERIOD})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    model = shape.model_validate_json(response.content, strict=False)
    assert response.content == model.model_dump_json(by_alias=True).encode()
    # The set has graded and ungraded regions, small and null measures: the cases that differ.
    measures = [m for item in response.json()["items"] for m in item["measures"].values()]
    assert any(m["value"] is None for m in measures)
    assert any(m["small"] for m in measures) and any(not m["small"] for m in measures)
