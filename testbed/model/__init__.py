"""The model: topologies, parameters (Azure's values as defaults), address pools, events, and the
catalog of content. Pure data: it imports no other layer.
"""
