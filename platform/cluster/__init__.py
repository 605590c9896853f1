"""Connecting to Ray: an embedded local Ray by default, or an existing cluster."""
