"""The shop's own particulars kept in the database: its profile (name, address, tax id, contact, time zone,
how amounts are written, which payment methods checkout offers) and its content pages."""
