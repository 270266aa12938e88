"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers streams and costs per request)."""
