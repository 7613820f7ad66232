"""Components: packages of actions and triggers, registered by key."""
