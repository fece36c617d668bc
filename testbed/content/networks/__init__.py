"""The shipped network files: the three reference architectures and the examples."""
from testbed.azure.network import build

__all__ = ["build"]
