"""Deploy, pause, enable and remove: the instance lifecycle (being moved here)."""
