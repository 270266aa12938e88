"""Tutorplane version-A agent pool: LiveKit Agents worker"""
