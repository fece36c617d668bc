"""The host's kernel as a node sees it: processes, namespaces and netlink, nftables, polling, the
machine's prerequisites.
"""
