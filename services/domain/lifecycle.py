"""The complaint state machine: every writer of a complaint goes through `check_transition`."""

import enum


class Status(enum.StrEnum):
    submitted = "submitted"
    verified = "verified"
    dispositioned = "dispositioned"
    in_progress = "in_progress"
    responded = "responded"
    resolved = "resolved"
    on_hold = "on_hold"
    archived = "archived"
    returned = "returned"
    duplicate = "duplicate"


STATUS_LABELS: dict[Status, str] = {
    Status.submitted: "Belum Terverifikasi",
    Status.verified: "Terverifikasi",
    Status.dispositioned: "Terdisposisi",
    Status.in_progress: "Sedang Diproses",
    Status.responded: "Ditindaklanjuti",
    Status.resolved: "Selesai",
    Status.on_hold: "Tunda",
    Status.archived: "Arsip",
    Status.returned: "Bukan Wewenang",
    Status.duplicate: "Duplikat",
}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.submitted: frozenset(
        {Status.verified, Status.archived, Status.duplicate, Status.on_hold}
    ),
    # A verifier may find a duplicate at any point before the complaint is done (automatic
    # verification dispositions most complaints before a person sees them).
    Status.verified: frozenset(
        {Status.dispositioned, Status.archived, Status.on_hold, Status.duplicate}
    ),
    Status.dispositioned: frozenset(
        {
            Status.in_progress,
            Status.responded,
            Status.on_hold,
            Status.returned,
            Status.resolved,
            Status.duplicate,
        }
    ),
    Status.in_progress: frozenset(
        {Status.responded, Status.on_hold, Status.returned, Status.resolved, Status.duplicate}
    ),
    # Tunda ends where it began (complaints.held_from_status).
    Status.on_hold: frozenset(
        {
            Status.submitted,
            Status.verified,
            Status.dispositioned,
            Status.in_progress,
            Status.duplicate,
        }
    ),
    # The reporter answers a follow-up (back to work), accepts, or the reply window closes it.
    Status.responded: frozenset({Status.resolved, Status.in_progress, Status.duplicate}),
    # Bukan wewenang: re-routed to another agency, back to the verification queue, or archived.
    Status.returned: frozenset(
        {Status.dispositioned, Status.submitted, Status.archived, Status.duplicate}
    ),
    # Reopening a resolved complaint puts it back to work.
    Status.resolved: frozenset({Status.in_progress}),
    Status.archived: frozenset(),
    Status.duplicate: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"cannot move a complaint from {current} to {target}")
        self.current = current
        self.target = target


def check_transition(current: str, target: Status) -> Status:
    """Return the target status, or raise IllegalTransition."""
    status = Status(current)
    if target not in TRANSITIONS[status]:
        raise IllegalTransition(status, target)
    return target
