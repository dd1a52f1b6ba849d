"""The HTTP side of the service: middleware, handlers and routes."""
