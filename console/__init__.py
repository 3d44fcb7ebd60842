"""The console, the top floor: the admin site, its home and dashboard panels, the decision
views, and the operational endpoints (/health, /ready, /metrics). It may import every app;
nothing but ``config`` imports it."""
