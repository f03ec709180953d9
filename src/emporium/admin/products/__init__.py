"""The back office's product screens: the list with its bulk edits, and a product's details."""
