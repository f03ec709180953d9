"""What the catalog registers in the wiring step (emporium/install.py): removing a deleted product's image
files, bulk edits of a whole filter, back-office CSV imports run as jobs, and the catalog page cache's
stamp, changed by every commit to a catalog or stock table."""

from __future__ import annotations

from emporium.catalog.bulk import BULK_EDIT_JOB
from emporium.catalog.cache import VERSION_KEY, WATCHED_TABLES
from emporium.catalog.csv.tasks import FORGET_UPLOADS_JOB, IMPORT_JOB, forget_uploads_job, run_import_job
from emporium.catalog.media.service import REMOVE_FILES_JOB, remove_image_files
from emporium.catalog.tasks import bulk_edit_job
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.job(REMOVE_FILES_JOB, remove_image_files)
    wiring.job(BULK_EDIT_JOB, bulk_edit_job)
    wiring.cache_watch(WATCHED_TABLES, VERSION_KEY)
    # Back-office CSV imports past a number of rows run as a job; kept uploads expire.
    wiring.job(IMPORT_JOB, run_import_job, max_attempts=1)
    wiring.job(FORGET_UPLOADS_JOB, forget_uploads_job, max_attempts=3)
    wiring.periodic(FORGET_UPLOADS_JOB, every_seconds=3600)
