"""The benchmarks (testbed bench): bring-up, trial cycle, FIB at scale, probe cost, memory,
topology size.
"""
