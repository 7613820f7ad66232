"""The customer config wizard's pages. Thin: find the object through ``instances.tenancy``
(another customer's object is a 404), parse with ``webui.forms``, call a service, answer."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from executions.services import ReplayRefused, execution_replay
from instances.errors import InstanceStateError
from instances.lifecycle import instance_deploy, instance_enable, instance_pause
from instances.models import Instance
from instances.tenancy import (
    customers_for_user,
    get_instance_for_user,
    get_integration_for_user,
    instances_for_user,
    integrations_offered_for_user,
    is_staff,
    user_customer,
)
from integrations.config_values import ConfigValueError
from integrations.models import Integration
from triggers.schedules.run_now import (
    RunNowConflict,
    RunNowNotFound,
    RunNowRefused,
    RunNowResult,
    flow_run_now,
)
from webui import services
from webui.forms import InstanceWizardForm
from webui.history import STATUS_CHOICES, HistoryPage, history_page
from webui.persisted_state import instance_state_views
from webui.schedule_picker import PICKER_TYPES, Picker, picker_preview
from webui.tenancy import get_execution_for_user


def wizard_view(view):
    """Signed-in users only (others go to the wizard's login page); never cached."""
    return wraps(view)(never_cache(login_required(view, login_url="webui:login")))


@wizard_view
def instance_list(request: HttpRequest) -> HttpResponse:
    instances = (
        instances_for_user(request.user)
        .select_related("integration", "customer")
        .order_by("customer__name", "name")
    )
    return render(
        request,
        "webui/instance_list.html",
        {
            "instances": instances,
            "customer": user_customer(request.user),
            "staff": is_staff(request.user),
            "can_create": bool(integrations_offered_for_user(request.user)),
        },
    )


@wizard_view
def instance_new(request: HttpRequest) -> HttpResponse:
    """Pick an integration; the wizard itself follows on ``instance_new_configure``."""
    return render(
        request,
        "webui/instance_new.html",
        {"integrations": integrations_offered_for_user(request.user)},
    )


def _wizard(
    request: HttpRequest, *, integration: Integration, instance: Instance | None = None
) -> HttpResponse:
    staff_new = instance is None and is_staff(request.user)
    form_kwargs: dict[str, Any] = {
        "integration": integration,
        "instance": instance,
        "customers": customers_for_user(request.user) if staff_new else None,
    }
    if request.method == "POST":
        form = InstanceWizardForm(request.POST, **form_kwargs)
        if form.is_valid():
            deploy = "deploy" in request.POST
            customer = (
                form.chosen_customer if staff_new else (instance.customer if instance else None)
            ) or user_customer(request.user)
            if customer is None:  # neither staff nor a customer's user: nothing is theirs
                raise Http404("Not found.")
            try:
                saved = services.wizard_save(
                    integration=integration,
                    customer=customer,
                    instance=instance,
                    name=form.cleaned_data["name"],
                    config_values=form.cleaned_data["config_values"],
                    deploy=deploy,
                )
            except ConfigValueError as error:
                form.config_errors_apply(error.fields)
            except InstanceStateError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Deployed." if deploy else "Saved.")
                return redirect("webui:instance", instance_id=saved.pk)
        status = 400
    else:
        form = InstanceWizardForm(**form_kwargs)
        status = 200
    steps = form.steps()
    first_error_step = next((s.key for s in steps if s.has_errors), None)
    if first_error_step is None and form.errors:
        basics = "name" in form.errors or "customer" in form.errors
        first_error_step = "basics" if basics else "review"
    return render(
        request,
        "webui/wizard.html",
        {
            "form": form,
            "steps": steps,
            "first_error_step": first_error_step,
            "integration": integration,
            "instance": instance,
            "picker_types": PICKER_TYPES,
        },
        status=status,
    )


@wizard_view
def instance_new_configure(request: HttpRequest, integration_id: str) -> HttpResponse:
    integration = get_integration_for_user(request.user, integration_id)
    if user_customer(request.user) is None and not is_staff(request.user):
        return redirect("webui:instances")
    return _wizard(request, integration=integration)


@wizard_view
def instance_configure(request: HttpRequest, instance_id: str) -> HttpResponse:
    instance = get_instance_for_user(request.user, instance_id)
    return _wizard(request, integration=instance.integration, instance=instance)


def _history_status(history: HistoryPage) -> int:
    return 400 if history.problems else 200


@wizard_view
def instance_detail(request: HttpRequest, instance_id: str) -> HttpResponse:
    instance = get_instance_for_user(request.user, instance_id)
    history = history_page(instance, user=request.user, params=request.GET)
    return render(
        request,
        "webui/instance_detail.html",
        {
            "instance": instance,
            "flows": services.instance_flows(instance),
            "state_scopes": instance_state_views(instance),
            "history": history,
            "status_choices": STATUS_CHOICES,
        },
        status=_history_status(history),
    )


@wizard_view
@require_GET
def instance_history(request: HttpRequest, instance_id: str) -> HttpResponse:
    """The history as a page of its own; with ``?fragment=1`` only its table and pager,
    which the instance and history pages fetch to refresh themselves while open."""
    instance = get_instance_for_user(request.user, instance_id)
    history = history_page(instance, user=request.user, params=request.GET)
    fragment = request.GET.get("fragment") == "1"
    return render(
        request,
        "webui/_history.html" if fragment else "webui/instance_history.html",
        {
            "instance": instance,
            "history": history,
            "status_choices": STATUS_CHOICES,
        },
        status=_history_status(history),
    )


@wizard_view
@require_POST
def instance_action(request: HttpRequest, instance_id: str, action: str) -> HttpResponse:
    instance = get_instance_for_user(request.user, instance_id)
    try:
        if action == "deploy":
            instance_deploy(instance=instance, user=request.user)
            messages.success(request, "Deployed.")
        elif action == "pause":
            instance_pause(instance=instance, user=request.user)
            messages.success(request, "Paused: webhooks answer 404 and schedules stop.")
        else:
            instance_enable(instance=instance, user=request.user)
            messages.success(request, "Enabled.")
    except ConfigValueError as error:
        messages.error(
            request,
            "Cannot deploy until the configuration is complete: "
            + "; ".join(f"{k}: {m}" for k, m in error.fields.items()),
        )
        return redirect("webui:configure", instance_id=instance.pk)
    except InstanceStateError as error:
        messages.error(request, str(error))
    return redirect("webui:instance", instance_id=instance.pk)


@wizard_view
@require_POST
def instance_run_now(request: HttpRequest, instance_id: str) -> HttpResponse:
    """Run a schedule or polling flow now (POST ``flow``), as the API's run does; whoever
    may deploy the instance may (its customer's users, staff)."""
    instance = get_instance_for_user(request.user, instance_id)
    flow_name = request.POST.get("flow", "")
    try:
        result = flow_run_now(instance=instance, flow_name=flow_name, user=request.user)
    except RunNowConflict as error:
        if error.execution is not None:
            messages.warning(
                request,
                format_html(
                    '{} did not run: {} <a href="{}">See the skipped run</a>.',
                    flow_name,
                    str(error),
                    reverse("webui:execution", args=[error.execution.pk]),
                ),
            )
        else:
            messages.error(request, f"{flow_name} did not run: {error}")
    except (RunNowNotFound, RunNowRefused) as error:
        messages.error(request, str(error))
    else:
        _run_now_message(request, flow_name, result)
    return redirect("webui:instance", instance_id=instance.pk)


def _run_now_message(request: HttpRequest, flow_name: str, result: RunNowResult) -> None:
    poll = result.poll
    if poll is None:
        started = [result.execution.pk] if result.execution else []
        text, level = f"{flow_name} is running now.", messages.SUCCESS
    elif poll.status == "failed":
        started = poll.executions
        text, level = f"{flow_name}: the poll failed: {poll.error}", messages.ERROR
    else:
        started = poll.executions
        new = f"{len(started)} new" if started else "nothing new"
        text, level = f"{flow_name} polled now: {poll.item_count} items, {new}.", messages.SUCCESS
    if started:
        label = "See the run" if len(started) == 1 else "See the first run"
        link = format_html(
            ' <a href="{}">{}</a>', reverse("webui:execution", args=[started[0]]), label
        )
        messages.add_message(request, level, format_html("{}{}", text, link))
    else:
        messages.add_message(request, level, text)


@wizard_view
@require_POST
def instance_flow_secrets(request: HttpRequest, instance_id: str) -> JsonResponse:
    """A flow's API keys and its curl command with the key, on the user's request."""
    instance = get_instance_for_user(request.user, instance_id)
    flow_name = request.POST.get("flow", "")
    return JsonResponse(services.instance_flow_secrets(instance, flow_name))


@wizard_view
def execution_detail(request: HttpRequest, execution_id: str) -> HttpResponse:
    execution = get_execution_for_user(request.user, execution_id)
    return render(
        request,
        "webui/execution_detail.html",
        {
            "execution": execution,
            "steps": services.execution_steps(execution),
            "logs": execution.logs.order_by("id"),
        },
    )


@wizard_view
@require_POST
def execution_replay_view(request: HttpRequest, execution_id: str) -> HttpResponse:
    execution = get_execution_for_user(request.user, execution_id)
    try:
        replay = execution_replay(execution=execution)
    except (ReplayRefused, InstanceStateError) as error:
        messages.error(request, str(error))
        return redirect("webui:execution", execution_id=execution.pk)
    messages.success(request, "Replay queued.")
    return redirect("webui:execution", execution_id=replay.pk)


@wizard_view
@require_GET
def schedule_preview(request: HttpRequest) -> JsonResponse:
    """Description and next five fire times for what the picker holds; errors per field."""
    picker = Picker(**{part: request.GET.get(part, "") for part in Picker.__dataclass_fields__})
    return JsonResponse(picker_preview(picker))
