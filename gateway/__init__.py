"""The public edge of Aduan: authentication, body limits, proxying, merged OpenAPI, docs, health."""
