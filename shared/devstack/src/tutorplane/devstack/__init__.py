"""Embedded default: embedded PostgreSQL + emulators + services as local processes"""
