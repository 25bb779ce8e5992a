"""Who may do what: the one authorization policy of the platform.

Every route declares the permission it needs (`Annotated[Principal, Requires(Permission.x)]`);
this module alone maps permissions to roles. What a caller may *see* of an object it may read is
the privacy module's business (services/privacy.py). An object the caller may not see at all
answers 404 (`not_visible`), so ids cannot be probed.
"""

import enum
from collections.abc import Mapping
from typing import Any

from fastapi import Depends

from services.deps import PrincipalDep
from services.principal import Principal, Role
from services.problems import ProblemError

R = Role


class Permission(enum.StrEnum):
    complaint_create = "complaint:create"
    complaint_read = "complaint:read"  # by tracking id; the privacy view decides what is shown
    own_complaints_read = "complaint:read_own"  # a citizen's "my complaints"
    reference_read = "reference:read"  # categories, regions, the agency directory
    account_read_own = "account:read_own"
    account_register = "account:register"
    staff_manage = "staff:manage"  # admins any; coordinators in their agency and its offices
    api_key_manage = "api_key:manage"
    webhook_manage = "webhook:manage"
    ops_read = "ops:read"
    ops_act = "ops:act"
    verification_manage = "verification:manage"  # admins any; coordinators their region
    disposition_preview = "disposition:preview"  # the routing dry-run
    agency_inbox = "agency:inbox"  # an agency's complaints and its actions on them
    directory_manage = "directory:manage"  # agencies, categories' policy, disposition rules
    # convo: the reporter's own actions (the service checks the caller is the reporter) and
    # following a complaint
    complaint_reporter_act = "complaint:reporter_act"
    complaint_follow = "complaint:follow"
    # Open311: set the region of a complaint that came without one (national admins only)
    verification_region = "verification:set_region"
    # attachments (issue 8): the reporter to its complaint, an agency to its follow-up
    attachment_upload = "attachment:upload"
    # statistics (routing/stats): regions and the ranking; an agency's own statistics
    stats_read = "stats:read"
    agency_stats_read = "stats:read_agency"  # coordinators: their agency and its offices
    # notifications to people (issue 9, people): an account's own channels and language
    notification_preferences_own = "notification_preferences:own"


EVERYONE = frozenset(Role) - {R.system}
ACCOUNTS = frozenset({R.citizen, R.admin, R.coordinator, R.liaison})

GRANTS: Mapping[Permission, frozenset[Role]] = {
    # Staff and agency keys act on complaints through the agency workflow, not by filing them.
    Permission.complaint_create: frozenset({R.anonymous, R.citizen, R.regional_system, R.admin}),
    Permission.complaint_read: EVERYONE,
    Permission.own_complaints_read: frozenset({R.citizen}),
    Permission.reference_read: EVERYONE,
    Permission.account_read_own: ACCOUNTS,
    Permission.account_register: frozenset({R.anonymous}),
    Permission.staff_manage: frozenset({R.admin, R.coordinator}),
    Permission.api_key_manage: frozenset({R.admin}),
    # Webhooks (issue 9): admins any endpoint; an agency or a regional system its own
    # (notifications.service.Owner scopes them).
    Permission.webhook_manage: frozenset({R.admin, R.coordinator, R.agency, R.regional_system}),
    Permission.ops_read: frozenset({R.admin, R.ops}),
    Permission.ops_act: frozenset({R.admin}),
    Permission.verification_manage: frozenset({R.admin, R.coordinator}),
    # Rules and the directory, no personal data: those who route or watch routing.
    Permission.disposition_preview: frozenset({R.admin, R.coordinator, R.ops}),
    # Staff and keys of an agency see and act on their agency's (and its offices') complaints;
    # national admins on every agency's.
    Permission.agency_inbox: frozenset({R.admin, R.coordinator, R.liaison, R.agency}),
    Permission.directory_manage: frozenset({R.admin}),
    # convo: a reporter acts with their account or the complaint's reporter token (a regional
    # system forwards its citizen's answers with the token it got); following needs an account.
    Permission.complaint_reporter_act: frozenset({R.anonymous, R.citizen, R.regional_system}),
    Permission.complaint_follow: frozenset({R.citizen}),
    # A complaint without a region lies in no coordinator's region: national admins set it.
    Permission.verification_region: frozenset({R.admin}),
    # attachments (issue 8): intake checks who is the reporter or the follow-up's agency
    Permission.attachment_upload: frozenset(
        {R.anonymous, R.citizen, R.admin, R.coordinator, R.liaison, R.agency}
    ),
    # statistics (routing/stats): no personal data; a coordinator sees its own agency's
    Permission.stats_read: frozenset({R.admin, R.ops}),
    Permission.agency_stats_read: frozenset({R.admin, R.ops, R.coordinator}),
    # notifications to people: every account sets its own (API keys have none)
    Permission.notification_preferences_own: ACCOUNTS,
}


def allows(principal: Principal, permission: Permission) -> bool:
    return principal.role in GRANTS[permission]


def authorize(principal: Principal, permission: Permission) -> None:
    """401 for a caller who did not say who they are, 403 for one whose role may not."""
    if allows(principal, permission):
        return
    if principal.role is Role.anonymous:
        raise ProblemError(
            "unauthenticated",
            "sign in or send an API key to do this",
            headers={"WWW-Authenticate": 'Bearer realm="aduan"'},
        )
    raise ProblemError("forbidden", f"the role {principal.role} may not do this ({permission})")


def not_visible(what: str, ident: object) -> ProblemError:
    """What a caller gets for an object outside its scope: the same as for one that is not there."""
    return ProblemError("not_found", f"no {what} {ident}")


def Requires(permission: Permission) -> Any:
    """`principal: Annotated[Principal, Requires(Permission.x)]` in a route's signature."""

    async def dependency(principal: PrincipalDep) -> Principal:
        authorize(principal, permission)
        return principal

    dependency.__name__ = f"requires_{permission.name}"
    return Depends(dependency)
