"""Scenarios (a topology, a fault, an expectation) and the runner of their trials."""
