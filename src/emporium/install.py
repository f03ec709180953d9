"""The wiring step: every domain's ``install``, called in one fixed order.

Importing a module registers nothing. ``wire()`` calls each domain's ``install`` with a ``Wiring``
(emporium/wiring.py) in the order of ``INSTALLS``, and the app (``create_app``), the CLI and the worker
(``cli._context``) call it before they build a context; calling it again changes nothing. The order is
fixed because some registries run in it: the privacy erasers (notifications' before orders'), and the
periodic jobs that are due at the same moment (enqueued in this order). A payment gateway that has jobs
(payments/gateways/<name>/install.py) is installed by payments' ``install``.
"""

from __future__ import annotations

from collections.abc import Callable

from emporium.cart.install import install as install_cart
from emporium.catalog.install import install as install_catalog
from emporium.journeys.install import install as install_journeys
from emporium.notifications.install import install as install_notifications
from emporium.operations.install import install as install_operations
from emporium.orders.install import install as install_orders
from emporium.payments.install import install as install_payments
from emporium.reviews.install import install as install_reviews
from emporium.store.install import install as install_store
from emporium.wiring import Wiring
from emporium.wishlists.install import install as install_wishlists

Install = Callable[[Wiring], None]

INSTALLS: tuple[Install, ...] = (
    install_store,
    install_notifications,
    install_catalog,
    install_cart,
    install_wishlists,
    install_orders,
    install_payments,
    install_reviews,
    install_operations,
    install_journeys,
)


def wire(wiring: Wiring | None = None) -> None:
    """Register everything every domain installs, in the order of ``INSTALLS``; harmless to call again."""
    wiring = wiring or Wiring()
    for install in INSTALLS:
        install(wiring)
