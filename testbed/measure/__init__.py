"""The measurement: probes and their records, the flow plan, path marks, FIB and control-plane
watchers, outage maths, calibration (docs/measurement.md).
"""
