"""Which event types exist and which consumers (arq queues) receive each."""

import enum


class EventType(enum.StrEnum):
    complaint_submitted = "complaint.submitted"
    # Verification (the national admins, or an agency coordinator for its region)
    complaint_verification_required = "complaint.verification_required"  # to the manual queue
    complaint_classified = "complaint.classified"  # a category chosen from the text
    complaint_verified = "complaint.verified"
    complaint_held = "complaint.held"  # tunda: reason and resume date
    complaint_resumed = "complaint.resumed"
    complaint_archived = "complaint.archived"  # reason code, or the duplicate's tracking id
    complaint_info_requested = "complaint.info_requested"  # asks the reporter; clock paused
    # Disposition and the agency's handling
    complaint_dispositioned = "complaint.dispositioned"
    complaint_accepted = "complaint.accepted"
    complaint_followed_up = "complaint.followed_up"  # tindak lanjut → responded
    complaint_resolved = "complaint.resolved"
    complaint_returned = "complaint.returned"  # bukan wewenang
    complaint_delegated = "complaint.delegated"  # a coordinator to one of its offices
    # Deadlines
    complaint_sla_warning = "complaint.sla_warning"
    complaint_sla_breached = "complaint.sla_breached"
    complaint_reminder = "complaint.reminder"  # to the agency, after a breach
    complaint_escalated = "complaint.escalated"  # one level up the hierarchy
    # The conversation (convo): comments, the reporter's answers, following, duplicates
    complaint_commented = "complaint.commented"  # {author: reporter|agency, body}
    complaint_reporter_replied = "complaint.reporter_replied"  # responded → in_progress
    complaint_resolution_accepted = "complaint.resolution_accepted"  # responded → resolved
    complaint_rated = "complaint.rated"  # {rating: 1..5, comment}
    complaint_reopened = "complaint.reopened"  # resolved → in_progress
    complaint_followed = "complaint.followed"  # {account_id}: a citizen follows it
    complaint_unfollowed = "complaint.unfollowed"  # {account_id}: stops following
    complaint_marked_duplicate = "complaint.marked_duplicate"  # {duplicate_of} → duplicate
    # Open311: an admin gave a complaint without a region its region (then verification reruns)
    complaint_region_set = "complaint.region_set"
    # Attachments (issue 8): a file of the reporter's, or of an agency's follow-up
    complaint_attachment_added = "complaint.attachment_added"
    # Accounts (people): recorded by the gateway's accounts edge, for notifications' contact
    # directory. Internal: they carry contact details and are never delivered to webhooks.
    account_registered = "account.registered"  # a citizen signed up
    account_staff_created = "account.staff_created"
    account_deactivated = "account.deactivated"
    # Webhooks (issue 9): to the endpoint's owner and admins; a ping goes to one endpoint only.
    webhook_delivery_exhausted = "webhook.delivery_exhausted"
    webhook_endpoint_disabled = "webhook.endpoint_disabled"
    webhook_ping = "webhook.ping"


class Consumer(enum.StrEnum):
    routing = "routing"
    notifications = "notifications"


# Routing keeps the clocks. The events routing records itself (verification, the inbox, the
# sweep) move them inside the same transaction (routing/sla/follow.py); through the queue it
# hears only what other services record that it must act on. Notifications hears everything
# (webhook subscribers choose their own types).
CLOCK_EVENTS = frozenset(
    {
        EventType.complaint_submitted,
        EventType.complaint_verified,
        EventType.complaint_held,
        EventType.complaint_resumed,
        EventType.complaint_archived,
        EventType.complaint_info_requested,
        EventType.complaint_dispositioned,
        EventType.complaint_accepted,
        EventType.complaint_followed_up,
        EventType.complaint_resolved,
        EventType.complaint_returned,
        EventType.complaint_delegated,
        EventType.complaint_escalated,
        # convo: the reporter's answers (recorded by intake) and a verifier's duplicate mark
        EventType.complaint_reporter_replied,
        EventType.complaint_resolution_accepted,
        EventType.complaint_reopened,
        EventType.complaint_marked_duplicate,
    }
)
ROUTING_INPUTS = frozenset(
    {
        EventType.complaint_submitted,  # recorded by intake
        # convo: the reporter's answers, recorded by intake, move routing's clocks
        EventType.complaint_reporter_replied,
        EventType.complaint_resolution_accepted,
        EventType.complaint_reopened,
    }
)
CONSUMERS: dict[EventType, tuple[Consumer, ...]] = {
    event_type: (
        (Consumer.routing, Consumer.notifications)
        if event_type in ROUTING_INPUTS
        else (Consumer.notifications,)
    )
    for event_type in EventType
}


# Events for the platform's own consumers only: no webhook delivery, no public timeline (people).
INTERNAL_EVENTS = frozenset(
    {
        EventType.account_registered,
        EventType.account_staff_created,
        EventType.account_deactivated,
    }
)


def consumers_of(event_type: str) -> tuple[Consumer, ...]:
    return CONSUMERS.get(EventType(event_type), ())
