from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The roof as an app: no models; the site-wide system checks and the admin's audit."""

    name = "config"
    label = "site"
    verbose_name = "Furusato"

    def ready(self) -> None:
        # apps.py is imported while the app registry fills; the admin and the models it
        # brings may only be imported from ready() on (here and in audit_every_admin).
        from django.contrib import admin

        from . import checks  # noqa: F401

        # After every app's admin module (the admin's own ready() imported them all).
        audit_every_admin(admin.site)


def audit_every_admin(site) -> None:
    """Give every registered admin without it the audit of its reads (accounts.admin's
    ``AuditedReadsMixin``): the admins of other packages (allauth's e-mail addresses, DRF's
    tokens …) show personal data too. An admin that says ``audit_reads = False`` is left."""
    from accounts.admin import AuditedReadsMixin  # models: only once the registry is ready

    for model, model_admin in list(site._registry.items()):
        admin_class = type(model_admin)
        if isinstance(model_admin, AuditedReadsMixin) or not getattr(
            admin_class, "audit_reads", True
        ):
            continue
        audited = type(
            admin_class.__name__,
            (AuditedReadsMixin, admin_class),
            {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
        )
        site.unregister(model)
        site.register(model, audited)
