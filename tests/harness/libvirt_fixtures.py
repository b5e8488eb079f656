"""Fixtures (placeholder until written)."""
