"""Training labs: finding, starting, checking and solving them (the labs themselves are content)."""
