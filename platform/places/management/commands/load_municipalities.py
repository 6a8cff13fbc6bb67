from django.core.management.base import BaseCommand

from places.services import municipalities_load


class Command(BaseCommand):
    help = "Load (or update) all 47 prefectures and 1,741 municipalities from the data packages."

    def handle(self, *args, **options) -> None:
        result = municipalities_load()
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.prefectures} prefectures and "
                f"{result.municipalities} municipalities loaded."
            )
        )
