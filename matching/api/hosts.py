"""``/api/host-applications/``: applying to host (ヌシ), and the person's applications."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from .. import selectors, services
from ..models import (
    HostApplication,
)
from .reviews import HostApplicationReviewActions
from .serializers import HostApplicationSerializer, HostApplyRequestSerializer


class HostApplicationViewSet(
    HostApplicationReviewActions, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Applying to host (ヌシ) for a municipality; the person's own applications."""

    lookup_value_regex = r"[0-9]+"

    serializer_class = HostApplicationSerializer
    queryset = HostApplication.objects.none()  # for the schema; get_queryset decides
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HostApplication.objects.none()
        return selectors.host_applications_of(user=self.request.user)

    @extend_schema(summary="自分のヌシの申請の一覧")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="ヌシ（主催者）として申請する",
        request=HostApplyRequestSerializer,
        responses={201: HostApplicationSerializer},
    )
    def create(self, request):
        serializer = HostApplyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.host_apply(person=request.user, **serializer.validated_data)
        return Response(HostApplicationSerializer(application).data, status=status.HTTP_201_CREATED)
