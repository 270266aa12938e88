"""Tutorplane data layer: asyncpg pool, versioned migrations, repositories, fire-and-forget audit writer"""
