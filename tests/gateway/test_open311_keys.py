"""The gateway takes Open311's `api_key` out of what it forwards, leaving the rest as sent."""

from gateway.open311 import take_api_keys


def test_the_api_key_is_taken_out_and_everything_else_is_kept_byte_for_byte() -> None:
    body = b"service_code=infrastruktur&api_key=adn_ab_c%2Bd&description=Jalan+rusak%21&x="

    kept, keys = take_api_keys(body)

    assert kept == b"service_code=infrastruktur&description=Jalan+rusak%21&x="
    assert keys == ["adn_ab_c+d"]


def test_an_encoded_field_name_is_still_the_api_key() -> None:
    kept, keys = take_api_keys(b"api%5Fkey=secret&status=open")

    assert (kept, keys) == (b"status=open", ["secret"])


def test_without_an_api_key_nothing_changes() -> None:
    assert take_api_keys(b"") == (b"", [])
    assert take_api_keys(b"status=open&service_code=a") == (b"status=open&service_code=a", [])
