"""Tutorplane gateway: sessions, variant assignment, guarded turns, TTS, escalations, teacher feed"""
