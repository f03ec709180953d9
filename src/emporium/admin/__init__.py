"""The back office: server-rendered pages under /admin that call the domain services (see router.py)."""
