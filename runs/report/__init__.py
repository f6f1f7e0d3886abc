"""What a run shows: its figures (defined once), the metrics table, the files, pictures and tear sheet."""
