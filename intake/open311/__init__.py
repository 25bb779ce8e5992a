"""Open311 GeoReport v2 (JSON) under /open311/v2/: civic-tech clients file and track complaints
with the spec's own requests and answers; the mapping to Aduan's complaints lives here, the
filing itself is intake's ComplaintService."""
