"""What runs Lambda handlers outside the engine: worker processes, the runners, HTTP handlers."""
