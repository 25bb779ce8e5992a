"""How a complaint came in (`complaints.channel`): intake records it, routing's verification
policy and the statistics read it."""

import enum


class Channel(enum.StrEnum):
    mobile = "mobile"
    web = "web"
    sms = "sms"
    regional_system = "regional_system"  # forwarded by a regional government's system
    open311 = "open311"  # the GeoReport v2 endpoint
