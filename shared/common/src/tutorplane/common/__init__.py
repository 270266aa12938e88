"""Tutorplane's shared base: settings mixins, structured logging, tracing and metrics helpers."""
