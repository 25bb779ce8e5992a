"""Worker counts for Platform.scale_workers: which consumers run, and how many of each."""

from collections.abc import Callable

from bench.stack import Entry
from services.events.catalogue import Consumer


def only(consumer: str, instances: int) -> Callable[[Entry], int]:
    """Worker counts: `instances` of the consumer's worker, none of the others."""
    return lambda entry: instances if entry.consumer == consumer else 0


def beside_notifications(instances: int) -> Callable[[Entry], int]:
    """Worker counts: `instances` notifications workers, one of every other worker."""
    return lambda entry: instances if entry.consumer == Consumer.notifications else 1
