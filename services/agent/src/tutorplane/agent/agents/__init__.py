"""The tutors: an orchestrator that routes, and math, history and English specialists."""
