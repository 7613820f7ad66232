"""The flow page's steps: an action picker with each action's declared inputs."""

from __future__ import annotations

from django.contrib import admin

from integrations.models import Step


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = ("position", "name", "action", "inputs")
