"""Tutorplane guardrail HTTP service: moderation + policy + PII"""
