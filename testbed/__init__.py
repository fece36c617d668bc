"""testbed: emulate Azure hybrid connectivity with real FRR and strongSwan, break it, measure it."""
