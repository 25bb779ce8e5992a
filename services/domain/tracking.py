"""The shape of a tracking id, as routing's paths and bodies accept it: `ADN-` and eight
characters, plus a check character since issue 8 (intake/tracking.py makes and checks them)."""

TRACKING_ID_PATTERN = r"^[Aa][Dd][Nn]-[0-9A-Za-z]{8,9}$"
