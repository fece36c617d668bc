"""A running network: Mininet nodes and links, the daemons on them, the run's state file, clean-up.
"""
