"""The back office's Orders screens: the order table (filters, search, saved filters, keyset pages, CSV
export, bulk moves), the bulk shipping upload, and the order page with its actions. Every page and action
asks for its permission and goes through the services the API uses."""
