"""``/api/stats/…``: the dashboards' figures as JSON, and each table as CSV.

    GET /api/stats/                                   the areas the viewer may open
    GET /api/stats/national/                          every table of the nation
    GET /api/stats/national/<table>/                  one table (?format=csv for CSV)
    GET /api/stats/prefectures/<code>/[<table>/]      prefecture staff, national administrators
    GET /api/stats/municipalities/<code>/[<table>/]   its staff, its prefecture's, national

``?period=day|week|month`` chooses the series' periods (viewers without row-level rights get
days for the nation only, and no weeks). A suppressed figure is ``null`` in JSON, "x" in CSV.
Each table says its ``basis`` ("counted": unsuppressed, for national administrators and an
area's own staff, ``access``; "published") and its ``as_of``.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable, NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.language import list_join

from . import public, selectors
from .errors import InsightsCode
from .selectors import SUPPRESSED


class CSVRenderer(BaseRenderer):
    """One table as CSV (UTF-8 with a byte order mark, so spreadsheet programs read the
    Japanese). An error is rendered as a one-row CSV with its status, code and message."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if isinstance(data, dict) and "error" in data:
            error = data["error"]
            writer.writerow(["status", "code", "message"])
            writer.writerow([error.get("status"), error.get("code"), error.get("message")])
        elif isinstance(data, dict) and "rows" in data:
            columns = data["columns"]
            writer.writerow(["key", _("項目"), *(c["title"] for c in columns)])
            for row in data["rows"]:
                na = row.get("not_applicable", ())
                writer.writerow(
                    [
                        row["key"],
                        row["label"],
                        *(
                            "" if c["key"] in na else _csv_value(row["values"].get(c["key"]))
                            for c in columns
                        ),
                    ]
                )
        return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value) -> str:
    return SUPPRESSED if value is None else str(value)


class PeriodSerializer(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=selectors.PERIODS,
        default="month",
        error_messages={
            "invalid_choice": gettext_lazy(
                "period は day・week・month のいずれかで指定してください。"
            )
        },
    )


PERIOD = OpenApiParameter(
    "period", str, enum=list(selectors.PERIODS), description="day, week or month"
)


class FormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names JSON or CSV; anything else is a 404 that says so."""

    def filter_renderers(self, renderers, format):
        found = [renderer for renderer in renderers if renderer.format == format]
        if not found:
            raise NotFound(_("形式（format）は json か csv で指定してください。"))
        return found


class StatsView(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, CSVRenderer]
    content_negotiation_class = FormatNegotiation

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # What is shown depends on who asks: no shared cache may keep a signed-in viewer's
        # answer (an anonymous one is the publication's: ``public`` sets its headers).
        if "ETag" not in response:
            add_never_cache_headers(response)
        patch_vary_headers(response, ("Cookie", "Authorization"))
        return response

    def answer(self, request, make) -> HttpResponse:
        """``make()``'s answer; for anonymous viewers (after DRF's checks and rate limits)
        from the cache of the publication, rendered once per publication and language."""
        if not public.is_public(request._request):
            return make()

        def build() -> HttpResponse:
            response = self.finalize_response(request, make())
            response.render()
            return response

        # The URL with its parameters and the format it negotiated name the answer.
        name = f"api:{request.get_full_path()}:{request.accepted_renderer.format}"
        return public.answer(request._request, name=name, build=build, shared=True)

    kind = selectors.NATIONAL

    def dashboard(self, request, code: str = "") -> selectors.Dashboard:
        params = PeriodSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        area = selectors.area_open(user=request.user, kind=self.kind, code=code)
        period = params.validated_data["period"]
        if period not in selectors.published_periods(user=request.user, area=area):
            raise serializers.ValidationError(
                {
                    "period": [
                        _(
                            "公表値の推移は、全国は日別と月別、都道府県・市区町村は月別です"
                            "（period=day・month）。"
                        )
                    ]
                },
                code=InsightsCode.PERIOD_NOT_PUBLISHED,
            )
        return selectors.dashboard_read(user=request.user, area=area, period=period)


class DashboardView(StatsView):
    def get(self, request, code: str = ""):
        if request.accepted_renderer.format == "csv":  # a CSV file holds one table
            raise NotAcceptable(_("CSV は表ごとに取得できます（…/<表の名前>/?format=csv）。"))
        return self.answer(request, lambda: Response(self.dashboard(request, code).as_dict()))


class TableView(StatsView):
    def get(self, request, table: str, code: str = ""):
        return self.answer(request, lambda: self.table(request, table, code))

    def table(self, request, table: str, code: str) -> Response:
        dashboard = self.dashboard(request, code)
        names = [t.name for t in dashboard.tables]
        if table not in names:
            raise NotFound(
                _("「%(table)s」という表はありません。表の名前: %(names)s")
                % {"table": table, "names": list_join(names)}
            )
        response = Response(dashboard.table(table).as_dict())
        if request.accepted_renderer.format == "csv":
            period = f"-{dashboard.period}" if table == "series" else ""
            name = f"furusato-{dashboard.area.kind}{'-' + code if code else ''}-{table}{period}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _for(base: type[StatsView], kind: str, summary: str) -> type[StatsView]:
    """The view of one kind of area, with its own name in the OpenAPI schema."""

    def get(self, request, *args, **kwargs):
        return base.get(self, request, *args, **kwargs)

    operation = f"stats_{kind}_{'table' if base is TableView else 'dashboard'}"
    schema = extend_schema(
        summary=summary,
        parameters=[PERIOD],
        responses=OpenApiTypes.OBJECT,
        operation_id=operation,
    )
    return type(f"{kind.title()}{base.__name__}", (base,), {"kind": kind, "get": schema(get)})


VIEWS = {
    (kind, base): _for(base, kind, summary)
    for kind, label in (
        (selectors.NATIONAL, "全国"),
        (selectors.PREFECTURE, "都道府県"),
        (selectors.MUNICIPALITY, "市区町村"),
    )
    for base, summary in (
        (DashboardView, f"{label}の統計（すべての表）"),
        (TableView, f"{label}の統計（1つの表、JSON または CSV）"),
    )
}


class AreasView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="見ることのできる統計の地域", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(
            {
                "row_level": selectors.has_row_level_rights(user=request.user),
                "areas": [a.as_dict() for a in selectors.areas_of(user=request.user)],
                "tables": {kind: list(names) for kind, names in selectors.TABLES_OF.items()},
            }
        )


def urls():
    found = [path("stats/", AreasView.as_view(), name="api-stats")]
    for kind, prefix, name in (
        (selectors.NATIONAL, "stats/national/", "api-stats-national"),
        (selectors.PREFECTURE, "stats/prefectures/<str:code>/", "api-stats-prefecture"),
        (selectors.MUNICIPALITY, "stats/municipalities/<str:code>/", "api-stats-municipality"),
    ):
        found += [
            path(prefix, VIEWS[(kind, DashboardView)].as_view(), name=name),
            path(
                f"{prefix}<slug:table>/", VIEWS[(kind, TableView)].as_view(), name=f"{name}-table"
            ),
        ]
    return found
