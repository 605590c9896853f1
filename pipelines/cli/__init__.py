"""The `ganforge` command line."""
