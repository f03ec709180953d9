"""The parts of ``bench/seed_backoffice.py``: a shop with a year of history for the back-office benchmark.

``common`` holds the clock, the random source and the COPY helpers; ``people`` makes customers and their
addresses; ``shop`` reads the catalog, shipping and tax the orders are priced from; ``stories`` decides what
happened to each order and when; ``orders`` turns those stories into rows; ``extras`` adds carts and the
audit log.
"""
