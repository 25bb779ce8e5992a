"""Every event type has its timeline labels in Indonesian and English."""

from intake.labels import LABELS, label_of
from services.events.catalogue import INTERNAL_EVENTS, EventType

# Account events (notifications' contact directory) belong to no complaint's timeline.
TIMELINE_TYPES = [t for t in EventType if t not in INTERNAL_EVENTS]


def test_every_event_type_has_an_indonesian_and_an_english_label() -> None:
    missing = [t.value for t in TIMELINE_TYPES if t.value not in LABELS]
    assert missing == []
    for event_type in TIMELINE_TYPES:
        label = label_of(event_type.value)
        assert label.id and label.en and label.id != label.en, event_type


def test_an_unknown_type_shows_its_name() -> None:
    assert label_of("complaint.teleported").en == "complaint.teleported"
