"""The OpenAPI schema of the API (``/api/schema/``): drf-spectacular's, with the error
responses every operation may give, in the API's one error format (``core.api``).

Apart from ``core.api`` because drf-spectacular's schema module imports DRF's generic
views, which import the pagination class of ``core.api``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from .errors import all_codes

ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "status": serializers.IntegerField(),
                # Every refusal's code, of every room (core.errors).
                "code": serializers.ChoiceField(choices=all_codes()),
                "message": serializers.CharField(),
                # Per field, its messages (a list of sessions: a list of such objects).
                "fields": serializers.DictField(child=serializers.JSONField(), required=False),
            },
        )
    },
)
# What any operation may answer besides its success, all in the one error format: refused
# input, no or a bad token, no right, nothing there (or not yours), an unacceptable format,
# too many requests; operations that write may also clash with the state (409, or
# ``idempotency_in_progress``), be sent a body they cannot read (415) or an Idempotency-Key
# first used for another request (422).
ERROR_STATUSES = ("400", "401", "403", "404", "406", "429")
WRITE_ERROR_STATUSES = ("409", "415", "422")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# The header of a safe retry (idempotency.middleware), accepted by every write.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "任意。1〜255 文字の英数字・記号（UUID を推奨）。同じキー・同じリクエストの再送には"
        "最初の応答をそのまま返します（Idempotent-Replayed: true、24 時間）。別のリクエストに"
        "使ったキーは 422 idempotency_key_reused、処理中のキーは待ってから応答します。"
    ),
    pattern=r"^[\x21-\x7e]{1,255}$",
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, documenting the error responses of every operation too, so that
    the schema describes every answer the API gives (tests/platform/api/ checks it)."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in WRITES:
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        codes = ERROR_STATUSES
        if self.method in WRITES:
            codes += WRITE_ERROR_STATUSES
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ErrorSerializer, code, direction=direction
                )
        return responses
