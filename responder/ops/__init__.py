"""Safe operations from the command line: status, export, backup and purge."""
