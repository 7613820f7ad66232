"""Built-in component: http (to be implemented)."""
