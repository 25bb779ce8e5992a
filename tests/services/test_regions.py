from services.domain.regions import covers, parent_code, regency_code, timezone_of


def test_parent_and_regency_of_codes() -> None:
    assert parent_code("11.01.01.2001") == "11.01.01"
    assert parent_code("11") is None
    assert regency_code("11.01.01.2001") == "11.01"
    assert regency_code("34") is None


def test_time_zones_follow_the_province() -> None:
    assert timezone_of("31.71") == "Asia/Jakarta"  # Jakarta, WIB
    assert timezone_of("51.71.01") == "Asia/Makassar"  # Denpasar, WITA
    assert timezone_of("64") == "Asia/Makassar"  # Kalimantan Timur, WITA
    assert timezone_of("62.01") == "Asia/Jakarta"  # Kalimantan Tengah, WIB
    assert timezone_of("91.71") == "Asia/Jayapura"  # Jayapura, WIT


def test_covers_is_by_whole_segments() -> None:
    assert covers("11", "11.01.01")
    assert covers("11.01", "11.01")
    assert not covers("11.01", "11.10")
    assert not covers("1", "11")
