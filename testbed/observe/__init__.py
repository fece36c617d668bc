"""What a running network does: one reader each for the kernel FIB and the BGP/BFD peers, checks,
convergence, status.
"""
