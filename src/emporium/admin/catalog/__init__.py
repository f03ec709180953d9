"""The back office's catalog screens: CSV import and export, categories and brands."""
