"""Built-in component: flow (to be implemented)."""
