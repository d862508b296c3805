import json

from django.core.management.base import BaseCommand

from notifications.services import NotificationService


class Command(BaseCommand):
    help = "Prints a user's notification history as the monolith reads it (NOTIFICATIONS_READS), as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--user", type=int, required=True)
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(NotificationService.history(options["user"], options["limit"]), default=str))
