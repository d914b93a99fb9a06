"""Deterministic seed data for the three source tables, and the tools that load it.

``python -m include.seed load ...`` fills a database; ``python -m include.seed sql ...`` writes
the same rows as a SQL script. See ``python -m include.seed --help``.
"""
