"""Living documentation for the session API: a static site from openapi.yaml, and the generated part of docs/."""
