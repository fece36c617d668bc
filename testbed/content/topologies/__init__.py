"""Topologies: each module draws its network in its docstring and builds it from params."""
