"""Count every statistic again from the raw rows and publish: ``manage.py stats_rebuild``."""

from django.core.management.base import BaseCommand

from insights import services


class Command(BaseCommand):
    help = "Recount the statistics from the registry and the board, and publish them."

    def handle(self, *args, **options) -> None:
        result = services.counts_rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"{result['registrations']:,} registrations counted in {result['seconds']:.1f} s."
            )
        )
