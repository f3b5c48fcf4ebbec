"""Pure tests: no database, no process, no file beyond a temporary text file."""
