"""The admin app with Triggerfish's site (ops.admin_site) as ``admin.site``.

Listed in INSTALLED_APPS in place of ``django.contrib.admin``, so every app's
``admin.register`` lands on the custom site and every admin URL name stays as it was. The
site is named by a string: this module is imported while the app registry is still being
filled, before models can be imported."""

from django.contrib.admin.apps import AdminConfig


class TriggerfishAdminConfig(AdminConfig):
    default_site = "ops.admin_site.TriggerfishAdminSite"
