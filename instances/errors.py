"""Errors of the instance layer, importable from every layer above it (a replay of a
removed instance's execution raises the same error as a deploy of it)."""


class InstanceStateError(Exception):
    """The operation does not apply to the instance in its current state."""
