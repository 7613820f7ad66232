"""Built-in component: log (to be implemented)."""
