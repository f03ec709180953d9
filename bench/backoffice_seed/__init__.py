"""The parts of ``bench/seed_backoffice.py``: a shop with a year of history for the back-office benchmark.

``common`` holds the staff member record, the loopback check and the COPY helpers; ``people`` makes
customers, their phones and addresses; ``shop`` reads back the catalog, shipping, tax and coupons the orders
are priced from; ``planner`` places the orders; ``stories`` and ``plots`` tell what happened to each one and
when; ``rows`` turns the orders into rows and their stock moves into pools and adjustments; ``extras`` adds
carts and the audit log.
"""
