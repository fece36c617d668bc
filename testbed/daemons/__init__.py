"""FRR and strongSwan: configs rendered from templates, their processes in a node, a user's own FRR
configs fitted to a node.
"""
