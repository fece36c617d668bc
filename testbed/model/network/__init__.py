"""The network file: a user's own hybrid network in one YAML file (schema, loading, address plan)."""
