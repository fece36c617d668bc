"""The testbed command: one module per command group, terminal tables, the topology graph."""
