"""The refusal codes of places (``core.errors``)."""

from core.errors import ErrorCode


class PlacesCode(ErrorCode):
    INVALID_LG_CODE = "invalid_lg_code"  # not a 全国地方公共団体コード (six digits, checked)
