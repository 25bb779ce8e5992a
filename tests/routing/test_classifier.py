"""Classifying an uncategorised complaint from its words: Indonesian stems, keyword phrases,
and a confidence that says how sure the match is."""

from routing.verification.classifier import KeywordRules, stem, stems
from routing.verification.policy import Reason, evaluate, flag_list

RULES = KeywordRules.build(
    [
        ("infrastruktur", ["jalan", "lubang", "jembatan", "drainase", "lampu jalan"]),
        ("kesehatan", ["puskesmas", "rumah sakit", "obat", "dokter", "bpjs"]),
        ("korupsi_pungli", ["pungut", "suap", "pungli", "korupsi"]),
    ]
)


def test_words_are_stemmed_the_indonesian_way() -> None:
    assert stem("berlubang") == "lubang"
    assert stem("pungutan") == "pungut"
    # Reduplication is a plural: "jembatan-jembatan" is a bridge.
    assert stems("Perbaikan jembatan-jembatan") == ["baik", "jembatan"]


def test_two_keywords_of_one_category_classify_it_with_full_confidence() -> None:
    result = RULES.classify("Jalan berlubang di depan pasar, mohon segera diperbaiki")

    assert result.category == "infrastruktur"
    assert result.confidence == 1.0
    assert set(result.matched) == {"jalan", "lubang"}


def test_a_phrase_keyword_matches_only_as_a_phrase() -> None:
    assert RULES.classify("Antrean panjang di rumah sakit umum").category == "kesehatan"
    assert RULES.classify("Rumah warga dan sakit kepala").category is None


def test_one_keyword_alone_is_half_sure() -> None:
    result = RULES.classify("Dokter jarang datang")

    assert (result.category, result.confidence) == ("kesehatan", 0.5)


def test_words_of_two_categories_lower_the_confidence() -> None:
    result = RULES.classify("Petugas puskesmas meminta pungutan untuk obat, katanya untuk jalan")

    # kesehatan: puskesmas, obat (2); korupsi_pungli: pungut (1); infrastruktur: jalan (1)
    assert result.category == "kesehatan"
    assert result.confidence == 0.5
    assert dict(result.scores) == {"kesehatan": 2, "korupsi_pungli": 1, "infrastruktur": 1}


def test_a_text_without_keywords_has_no_category() -> None:
    result = RULES.classify("Terima kasih atas pelayanannya")

    assert (result.category, result.confidence, result.matched) == (None, 0.0, ())


def policy(title: str, description: str, **overrides: object) -> list[Reason]:
    arguments: dict[str, object] = {
        "title": title,
        "description": description,
        "region_code": "11.01.01",
        "category_verification": "auto",
        "channel": "anonymous",
        "manual_channels": [],
        "flags": flag_list(),
    }
    arguments.update(overrides)
    return list(evaluate(**arguments).reasons)  # type: ignore[arg-type]


def test_a_complete_unflagged_complaint_of_an_automatic_category_is_verified_automatically() -> (
    None
):
    assert policy("Jalan berlubang", "Jalan utama berlubang besar sejak dua bulan.") == []


def test_each_failed_check_is_a_reason_for_the_manual_queue() -> None:
    text = "Jalan utama berlubang besar sejak dua bulan."
    assert policy("Pungli", text, category_verification="manual") == [Reason.category_policy]
    assert policy("Pgl", text, category_verification="manual") == [
        Reason.category_policy,
        Reason.incomplete,
    ]
    assert policy(
        "Jalan rusak", text, channel="regional_system", manual_channels=["regional_system"]
    ) == [Reason.channel_policy]
    assert policy("Jalan rusak", "rusak") == [Reason.incomplete]
    assert policy("Jalan rusak", text, region_code="11.1") == [Reason.invalid_region]
    assert policy("Jalan rusak", text, classified=False) == [Reason.low_confidence]


def test_abuse_and_spam_words_flag_a_complaint_and_the_list_can_be_extended() -> None:
    verdict = evaluate(
        title="Dasar pejabat goblok",
        description="Daftar slot gacor di bit.ly/xyz sekarang juga",
        region_code="11.01",
        category_verification="auto",
        channel="anonymous",
        manual_channels=[],
        flags=flag_list(),
    )
    assert verdict.reasons == (Reason.flagged_words,)
    assert verdict.flagged == ("bit.ly", "gacor", "goblok", "slot gacor")
    # A word inside another is not a hit ("asunya" is not "asu"); an added word is.
    assert flag_list().find("tolong pantau pasar") == []
    assert flag_list(("calo",)).find("Banyak calo di kantor Samsat") == ["calo"]
