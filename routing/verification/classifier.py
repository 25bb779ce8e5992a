"""Classifying an uncategorised complaint from its text: keyword rules per category.

Each category lists Indonesian keywords (`categories.keywords`, stemmed forms such as `lubang`
for "berlubang"; a keyword may be several words, matched as a phrase). The complaint's title and
description are lower-cased, split into words and stemmed with Sastrawi (the stemmer is built once
per process and caches the stems it computed), and every category scores the number of its
distinct keywords found. The confidence of the best category is

    share × saturation = best / (sum of all categories' scores) × min(1, best / 2)

so one keyword alone is 0.5, two or more keywords of one category and none of another is 1.0,
and a text that matches two categories equally is at most 0.5. Below the threshold
(`ADUAN_CLASSIFICATION_THRESHOLD`) the complaint goes to the manual verification queue.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
# Keywords matching this many distinct words make a category certain (saturation).
SATURATION_HITS = 2


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """The Sastrawi stem of one lower-case word (memoised: texts repeat their words)."""
    return str(_stemmer().stem(word)) or word


def words(text: str) -> list[str]:
    """Lower-case words of a text, hyphenated forms kept whole (`jalan-jalan`)."""
    return WORD.findall(text.lower())


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


@dataclass(frozen=True)
class Classification:
    category: str | None  # None: nothing matched
    confidence: float
    matched: tuple[str, ...] = ()  # the keywords of the chosen category found in the text
    scores: Mapping[str, int] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "confidence": self.confidence,
            "matched_words": list(self.matched),
        }


@dataclass(frozen=True)
class KeywordRules:
    """Every category's keywords as stemmed word tuples, built once per cached category set."""

    keywords: Mapping[str, tuple[tuple[str, ...], ...]]
    labels: Mapping[str, tuple[str, ...]]  # the keywords as written, for the event

    @classmethod
    def build(cls, categories: Iterable[tuple[str, Sequence[str]]]) -> "KeywordRules":
        keywords: dict[str, tuple[tuple[str, ...], ...]] = {}
        labels: dict[str, tuple[str, ...]] = {}
        for code, raw in categories:
            phrases = [(k.strip().lower(), tuple(stem(w) for w in words(k))) for k in raw]
            kept = [(label, p) for label, p in phrases if p]
            keywords[code] = tuple(p for _, p in kept)
            labels[code] = tuple(label for label, _ in kept)
        return cls(keywords, labels)

    def classify(self, text: str) -> Classification:
        tokens = stems(text)
        present = set(tokens)
        joined = " " + " ".join(tokens) + " "
        scores: dict[str, int] = {}
        found: dict[str, tuple[str, ...]] = {}
        for code, phrases in self.keywords.items():
            hits = tuple(
                self.labels[code][i]
                for i, phrase in enumerate(phrases)
                if (
                    phrase[0] in present
                    if len(phrase) == 1
                    else " " + " ".join(phrase) + " " in joined
                )
            )
            if hits:
                scores[code] = len(hits)
                found[code] = hits
        if not scores:
            return Classification(None, 0.0)
        # Most hits wins; a tie goes to the code that sorts first (deterministic).
        best = min(scores, key=lambda c: (-scores[c], c))
        share = scores[best] / sum(scores.values())
        confidence = round(share * min(1.0, scores[best] / SATURATION_HITS), 3)
        return Classification(best, confidence, found[best], scores)
