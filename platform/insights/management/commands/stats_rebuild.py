"""Count every statistic again from the raw rows: ``manage.py stats_rebuild``; the published
figures follow if it is time (``INSIGHTS_PUBLISH_SECONDS``) or with ``--publish``. Refused
(exit status 1) while another rebuild runs."""

from django.core.management.base import BaseCommand, CommandError

from insights import services
from insights.locks import RebuildRunning
from insights.models import State


class Command(BaseCommand):
    help = (
        "Recount the statistics from the registry and the board; publish them if it is time "
        "(or with --publish)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--publish",
            action="store_true",
            help="publish now, whatever the cadence (after changing INSIGHTS_MIN_CELL, say)",
        )

    def handle(self, *args, publish: bool = False, **options) -> None:
        before = State.now().published_at
        try:
            result = services.counts_rebuild(publish=publish)
        except RebuildRunning:
            raise CommandError(
                "Another rebuild of the statistics is running (insights.counts_rebuild or "
                "stats_rebuild); nothing was recounted. Try again when it has finished."
            ) from None
        published = State.now().published_at != before
        self.stdout.write(
            self.style.SUCCESS(
                f"{result['registrations']:,} registrations counted in {result['seconds']:.1f} s"
                + ("; published." if published else "; the published figures are unchanged.")
            )
        )
