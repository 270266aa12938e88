"""Thin kopf entry points; :func:`registry.build_registry` wires them to one :class:`Runtime`."""
