"""The command line, run configurations and reports."""
