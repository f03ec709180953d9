"""The storefront: server-rendered pages (Jinja2 + htmx) on top of the domain services.

Rooms: ``router.py`` gathers the page routers (every unsafe method is CSRF-checked there), ``page.py``
renders a page with the shop layout, ``browser.py`` holds what a browser carries (session and CSRF
cookies), ``assets.py`` serves the fingerprinted static files, ``templating.py`` the Jinja2 environment.
"""
