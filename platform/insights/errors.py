"""The refusal codes of insights (``core.errors``)."""

from core.errors import ErrorCode


class InsightsCode(ErrorCode):
    STATISTICS_NOT_ALLOWED = "statistics_not_allowed"  # not this viewer's area
    PERIOD_NOT_PUBLISHED = "period_not_published"
