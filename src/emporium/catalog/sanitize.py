"""Product descriptions are sanitised by the rules of core/sanitize.py (content pages share them)."""

from emporium.core.sanitize import ALLOWED_TAGS, DescriptionFormat, sanitize_description

__all__ = ["ALLOWED_TAGS", "DescriptionFormat", "sanitize_description"]
