"""The components that ship with Triggerfish."""
