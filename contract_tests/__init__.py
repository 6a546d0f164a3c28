"""The conformance suite for the session API, runnable against any deployment (`session-contract`)."""
