"""Exceptions for broken infrastructure; bad articles are data (Rejection), never exceptions."""


class InfrastructureError(RuntimeError):
    """Elasticsearch unreachable, the embedded server failing to start, a full disk: the run must fail loudly."""
