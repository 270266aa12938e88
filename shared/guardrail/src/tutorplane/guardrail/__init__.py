"""Streaming guardrail engine: sentence splitting, pipelined checking, policy, PII masking, HTTP client"""
