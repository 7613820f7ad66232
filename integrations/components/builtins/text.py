"""Built-in component: text (to be implemented)."""
