"""Operator fixtures come from the package's pytest plugin (tutorplane.operator.testing)."""

from tutorplane.operator.testing import cluster, prometheus, simulator  # noqa: F401 - fixtures
