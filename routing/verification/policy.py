"""Automatic or manual verification of a submitted complaint.

A complaint is verified automatically only when every check passes; otherwise it waits in the
verification queue with the reasons (codes below) of every check that failed:
- `category_policy`: its category is verified by hand (`categories.verification = manual`,
  e.g. korupsi_pungli);
- `channel_policy`: it came in through a channel verified by hand
  (`ADUAN_VERIFICATION_MANUAL_CHANNELS`): its channel (`complaints.channel`: mobile, web, sms,
  regional_system, open311) or the role that filed it (the first part of
  `complaints.submitted_by`: anonymous, citizen, regional_system, admin) is listed;
- `incomplete`: the title or the description is too short to act on;
- `invalid_region`: the region code is not shaped like a Kemendagri code (intake validated it
  against the seeded regions and the foreign key keeps it there; this guards other writers);
- `flagged_words`: the text holds a word or phrase of the spam/abuse list (built in, extended by
  `ADUAN_VERIFICATION_FLAGGED_WORDS`);
- `low_confidence`: an uncategorised complaint (`lainnya`) could not be classified with at least
  `ADUAN_CLASSIFICATION_THRESHOLD` confidence;
- `region_missing`: it has no region (an Open311 request with coordinates or an address only):
  an admin sets the region (`POST /api/v1/verification/complaints/{tracking_id}/region`).
"""

import enum
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache

from routing.verification.classifier import words


class Reason(enum.StrEnum):
    category_policy = "category_policy"
    channel_policy = "channel_policy"
    incomplete = "incomplete"
    invalid_region = "invalid_region"
    flagged_words = "flagged_words"
    low_confidence = "low_confidence"
    region_missing = "region_missing"  # Open311 without a region: an admin sets it


# A small list on purpose: a hit sends the complaint to a person, it never archives it.
# Abuse (makian) and the usual spam of Indonesian public forms (online gambling, link bait).
FLAGGED_WORDS: tuple[str, ...] = (
    "anjing",
    "bangsat",
    "bajingan",
    "keparat",
    "goblok",
    "tolol",
    "kampret",
    "brengsek",
    "kontol",
    "memek",
    "ngentot",
    "jancok",
    "slot gacor",
    "gacor",
    "maxwin",
    "togel",
    "judi online",
    "situs judi",
    "deposit pulsa",
    "bit.ly",
    "wa.me",
    "klik link",
)
MIN_TITLE_CHARS = 5
MIN_DESCRIPTION_CHARS = 20
REGION_CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


@dataclass(frozen=True)
class FlagList:
    single: frozenset[str]  # whole words
    phrases: tuple[str, ...]  # several words, or anything with punctuation (a link)

    def find(self, text: str) -> list[str]:
        lowered = " ".join(text.lower().split())
        tokens = set(words(lowered))
        hits = [w for w in self.single if w in tokens]
        hits += [p for p in self.phrases if p in lowered]
        return sorted(set(hits))


@lru_cache(maxsize=8)
def flag_list(extra: tuple[str, ...] = ()) -> FlagList:
    entries = {" ".join(w.lower().split()) for w in (*FLAGGED_WORDS, *extra) if w.strip()}
    single = frozenset(e for e in entries if re.fullmatch(r"[a-z]+", e))
    return FlagList(single, tuple(sorted(entries - single)))


def filing_role(submitted_by: str) -> str:
    """The role that filed a complaint: the first part of `submitted_by` (`role:subject`)."""
    return submitted_by.split(":", 1)[0]


@dataclass(frozen=True)
class Verdict:
    reasons: tuple[Reason, ...]
    flagged: tuple[str, ...] = ()

    @property
    def automatic(self) -> bool:
        return not self.reasons


def evaluate(
    *,
    title: str,
    description: str,
    region_code: str | None,
    category_verification: str,
    channel: str,
    manual_channels: Collection[str],
    role: str | None = None,
    flags: FlagList,
    classified: bool = True,
) -> Verdict:
    """Every check on a submitted complaint; `classified` is False when an uncategorised
    complaint stayed below the classification threshold."""
    reasons: list[Reason] = []
    if category_verification == "manual":
        reasons.append(Reason.category_policy)
    if channel in manual_channels or (role is not None and role in manual_channels):
        reasons.append(Reason.channel_policy)
    if len(title.strip()) < MIN_TITLE_CHARS or len(description.strip()) < MIN_DESCRIPTION_CHARS:
        reasons.append(Reason.incomplete)
    if region_code is None:
        reasons.append(Reason.region_missing)
    elif not REGION_CODE.match(region_code):
        reasons.append(Reason.invalid_region)
    flagged = flags.find(f"{title}\n{description}")
    if flagged:
        reasons.append(Reason.flagged_words)
    if not classified:
        reasons.append(Reason.low_confidence)
    return Verdict(tuple(reasons), tuple(flagged))


def reason_codes(reasons: Iterable[Reason]) -> list[str]:
    return [r.value for r in reasons]
