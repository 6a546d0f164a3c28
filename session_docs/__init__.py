"""Living documentation for the session API: a static site and the README table, both from openapi.yaml."""
