"""Loading landing-zone files into the raw layer, with manifest and quarantine."""
