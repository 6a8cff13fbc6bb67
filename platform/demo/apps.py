from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo content and generated populations: the top room below config, so that no room
    of the site depends on it and production could leave it out."""

    name = "demo"
    label = "demo"
