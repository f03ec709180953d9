"""Every table of every domain, gathered for Alembic and the models-versus-migrations test."""

from emporium.accounts import models as accounts_models
from emporium.audit import models as audit_models
from emporium.cart import models as cart_models
from emporium.catalog import models as catalog_models
from emporium.catalog.csv import models as catalog_import_models
from emporium.core import idempotency_models
from emporium.core.db import Base
from emporium.core.jobs import models as jobs_models
from emporium.demo import models as demo_models
from emporium.inventory import models as inventory_models
from emporium.journeys import models as journeys_models
from emporium.notifications import models as notifications_models
from emporium.orders import models as orders_models
from emporium.payments import models as payments_models
from emporium.pricing import models as pricing_models
from emporium.reviews import models as reviews_models
from emporium.store import models as store_models
from emporium.wishlists import models as wishlist_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "cart_models",
    "catalog_import_models",
    "catalog_models",
    "demo_models",
    "idempotency_models",
    "inventory_models",
    "jobs_models",
    "journeys_models",
    "metadata",
    "notifications_models",
    "orders_models",
    "payments_models",
    "pricing_models",
    "reviews_models",
    "store_models",
    "wishlist_models",
]
