"""Who is calling, as every service sees it: the gateway authenticates and forwards this.

`kind` names the credential that proved it, `role` what it may do (services/policy.py decides),
and the scope fields bound that role to agencies or regions.
"""

import enum
import uuid

from pydantic import BaseModel, ConfigDict


class PrincipalKind(enum.StrEnum):
    anonymous = "anonymous"
    user = "user"  # a citizen or staff account, by access token
    api_key = "api_key"  # a system's key, or the bootstrap ADUAN_ADMIN_API_KEY
    system = "system"  # the platform itself (workers, the gateway's own calls)


class Role(enum.StrEnum):
    anonymous = "anonymous"
    citizen = "citizen"
    admin = "admin"  # national admin: staff, an admin key or the bootstrap key
    coordinator = "coordinator"  # admin koordinator: an agency's verifier and delegator
    liaison = "liaison"  # admin penghubung: an office's follow-up person
    agency = "agency"  # an agency's own system, by API key
    regional_system = "regional_system"  # a regional government's complaint system
    ops = "ops"  # read-only, never personal data
    system = "system"


STAFF_ROLES = frozenset({Role.admin, Role.coordinator, Role.liaison})
AGENCY_ROLES = frozenset({Role.coordinator, Role.liaison, Role.agency})


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PrincipalKind
    role: Role
    subject: str | None = None  # account id, key id, or a system component's name
    # The agency a staff member or agency key belongs to, and that agency with every office
    # below it (a parent sees its offices' complaints), resolved by the gateway.
    agency_id: uuid.UUID | None = None
    agency_ids: tuple[uuid.UUID, ...] = ()
    # Region code prefixes a regional system answers for.
    region_codes: tuple[str, ...] = ()
    # For anonymous callers: an opaque per-client id (a hash of the address), never the address.
    client: str | None = None

    @property
    def key(self) -> str:
        """A stable name for ownership and idempotency scopes."""
        if self.role is Role.anonymous:
            return f"anonymous:{self.client or '-'}"
        return f"{self.role}:{self.subject or '-'}"

    @property
    def actor(self) -> str:
        """How timelines name who acted: staff and keys of an agency are all "agency"."""
        return "agency" if self.role in AGENCY_ROLES else self.role.value

    def covers_agency(self, agency_id: uuid.UUID) -> bool:
        return agency_id in self.agency_ids

    def covers_region(self, region_code: str) -> bool:
        return any(
            region_code == prefix or region_code.startswith(prefix + ".")
            for prefix in self.region_codes
        )


ANONYMOUS = Principal(kind=PrincipalKind.anonymous, role=Role.anonymous)
BOOTSTRAP_ADMIN = Principal(kind=PrincipalKind.api_key, role=Role.admin, subject="bootstrap")


def system(component: str) -> Principal:
    """Workers and the gateway acting on their own."""
    return Principal(kind=PrincipalKind.system, role=Role.system, subject=component)


SYSTEM_ROUTING = system("routing")
