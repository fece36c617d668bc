"""Failure scenarios: a topology, a fault, an expectation."""
