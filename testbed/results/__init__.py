"""Results: a trial's figures and statistics, the files a run writes, tables and comparison, plots.
"""
