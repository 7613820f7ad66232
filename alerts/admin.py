"""Alert monitors in the admin (filled in by the admin's own change, docs/alerts.md)."""
