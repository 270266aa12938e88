"""Tutorplane kopf operator: TutorDeployment reconciliation, admission, progressive rollout"""
