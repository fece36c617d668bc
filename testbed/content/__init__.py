"""The testbed's content: topologies, scenarios and training labs (found through
testbed.model.content).
"""
