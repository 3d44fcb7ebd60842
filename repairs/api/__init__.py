"""The repairs API: one module per resource (events, self-heal requests, …)."""
