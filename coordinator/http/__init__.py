"""The running web service: `create_app` (the composition root), its background tasks, middleware,
handlers and routes."""
