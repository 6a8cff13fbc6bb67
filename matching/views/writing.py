"""Writing tasks: new, edit, sessions, the steps from draft to done, calling off, the report."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import staff_scope
from core.pages import get_or_post, personal, put_errors, safe_next
from places.models import Municipality
from places.names import place_name

from .. import forms, selectors, services
from ..models import (
    EDITABLE_STATUSES,
    LIVE_STATUSES,
    SessionStatus,
    TaskStatus,
)
from ._common import (
    _managed_session,
    _managed_task,
    _municipality_code,
    _refused,
    _take_errors,
    _task_url,
)


@personal
@get_or_post
def task_new(request, code: str):
    municipality = get_object_or_404(
        Municipality.objects.select_related("prefecture"), code=_municipality_code(code)
    )
    scope = staff_scope(user=request.user)
    is_staff = scope.manages_municipality(municipality.code)
    if not (is_staff or scope.hosts_for(municipality.code)):
        raise PermissionDenied(
            _("%(name)s のお手伝いを作れるのは、その市区町村の職員と承認されたヌシだけです。")
            % {"name": place_name(municipality)}
        )
    session_errors: list[str] = []
    if request.method == "POST":
        form = forms.TaskForm(request.POST, request.FILES, for_host=not is_staff)
        formset = forms.SessionFormSet(request.POST, prefix="sessions")
        form_ok, formset_ok = form.is_valid(), formset.is_valid()
        if form_ok and formset_ok:
            try:
                task = services.task_create(
                    actor=request.user,
                    municipality=municipality,
                    sessions=formset.sessions(),
                    photo=form.cleaned_data["photo"],
                    **form.task_fields(),
                )
            except ValidationError as error:
                session_errors, rest = _take_errors(error, "sessions")
                if rest is not None:
                    put_errors(rest, form)
            else:
                if is_staff:
                    done = _("下書きを保存しました。内容を確かめて「公開する」を押してください。")
                else:
                    done = _(
                        "下書きを保存しました。内容を確かめて「審査を依頼する」を押してください。"
                        "まちの職員が確認して公開します。"
                    )
                messages.success(request, done)
                return redirect("matching:task_detail", task.pk)
    else:
        form = forms.TaskForm(initial={"host_name": municipality.name}, for_host=not is_staff)
        formset = forms.SessionFormSet(prefix="sessions")
    return render(
        request,
        "matching/task_form.html",
        {
            "municipality": municipality,
            "form": form,
            "formset": formset,
            "session_errors": session_errors,
            "is_staff": is_staff,
        },
    )


def _with_revision(task, revision):
    """A copy of the task as the pending revision would make it (for the host's form)."""
    if revision is None:
        return task
    proposed = copy.copy(task)
    for name, value in revision.changes.items():
        setattr(proposed, name, value)
    return proposed


HELD_DONE = gettext_lazy(
    "変更を市区町村の職員に送りました。職員が確認して承認するまで、公開中の内容はそのままです。"
)


@personal
@get_or_post
def task_edit(request, pk: int):
    task = _managed_task(request, pk)
    editable = task.status in EDITABLE_STATUSES
    is_staff = staff_scope(user=request.user).manages_municipality(task.municipality_id)
    # Once published, only the town's staff change whether it is a designated activity,
    # and a host's change waits for them (a revision).
    locked = task.status == TaskStatus.PUBLISHED and not is_staff
    held = services.changes_held(actor=request.user, task=task)
    pending = selectors.revision_pending_of(task) if held else None
    shown = _with_revision(task, pending)
    options = {"instance": shown, "designated_locked": locked, "for_host": not is_staff}
    if request.method == "POST" and editable:
        form = forms.TaskForm(request.POST, request.FILES, **options)
        if form.is_valid():
            try:
                if held:
                    revision = services.task_revision_submit(
                        task=task,
                        actor=request.user,
                        fields=form.task_fields(),
                        photo=form.cleaned_data["photo"],
                    )
                else:
                    services.task_update(
                        task=task,
                        actor=request.user,
                        photo=form.cleaned_data["photo"],
                        **form.task_fields(),
                    )
            except ValidationError as error:
                put_errors(error, form)
            else:
                if held:
                    messages.success(request, str(HELD_DONE))
                    return redirect("matching:revision_detail", revision.pk)
                messages.success(request, _("お手伝いの内容を保存しました。"))
                return redirect("matching:task_detail", task.pk)
    else:
        form = forms.TaskForm(**options)
    return render(
        request,
        "matching/task_form.html",
        {
            "task": task,
            "municipality": task.municipality,
            "form": form,
            "editable": editable,
            "held": held,
            "pending_revision": pending,
        },
    )


@personal
@get_or_post
def task_sessions(request, pk: int):
    task = _managed_task(request, pk)
    if request.method == "POST":
        form = forms.SessionForm(request.POST)
        if form.is_valid():
            held = services.changes_held(actor=request.user, task=task)
            try:
                if held:
                    revision = services.task_revision_submit(
                        task=task, actor=request.user, sessions=[form.session()]
                    )
                else:
                    services.session_add(task=task, actor=request.user, **form.session())
            except ValidationError as error:
                put_errors(error, form, aliases=forms.SessionForm.aliases)
            else:
                if held:
                    messages.success(request, str(HELD_DONE))
                    return redirect("matching:revision_detail", revision.pk)
                messages.success(request, _("開催回を追加しました。"))
                return redirect("matching:task_sessions", task.pk)
    else:
        form = forms.SessionForm()
    sessions = list(selectors.sessions_of(task))
    now = timezone.now()
    for session in sessions:
        session.task = task
        session.changeable = (
            session.status == SessionStatus.SCHEDULED
            and session.starts_at > now
            and task.status in EDITABLE_STATUSES
        )
    return render(
        request,
        "matching/task_sessions.html",
        {
            "task": task,
            "sessions": sessions,
            "form": form,
            "may_add": task.status in EDITABLE_STATUSES,
        },
    )


@personal
@get_or_post
def session_edit(request, pk: int):
    session = _managed_session(request, pk)
    task = session.task
    if request.method == "POST":
        form = forms.SessionForm(request.POST)
        if form.is_valid():
            held = services.changes_held(actor=request.user, task=task)
            try:
                if held:
                    revision = services.task_revision_submit(
                        task=task,
                        actor=request.user,
                        sessions=[{"session": session.pk, **form.session()}],
                    )
                else:
                    services.session_update(session=session, actor=request.user, **form.session())
            except ValidationError as error:
                put_errors(error, form, aliases=forms.SessionForm.aliases)
            else:
                if held:
                    messages.success(request, str(HELD_DONE))
                    return redirect("matching:revision_detail", revision.pk)
                messages.success(
                    request,
                    _("開催回を変更しました。日時が変わったときは、申し込んだ人にお知らせします。"),
                )
                return redirect("matching:task_sessions", task.pk)
    else:
        form = forms.SessionForm(initial=forms.SessionForm.initial_for(session))
    return render(
        request,
        "matching/session_edit.html",
        {"session": session, "task": task, "form": form},
    )


@personal
@get_or_post
def session_cancel(request, pk: int):
    session = _managed_session(request, pk)
    task = session.task
    if request.method == "POST":
        form = forms.ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.session_cancel(
                    session=session, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request, _("開催回を中止しました。申し込んだ人にお知らせしました。")
                )
                return redirect("matching:task_sessions", task.pk)
    else:
        form = forms.ReasonForm()
    return render(
        request,
        "matching/session_cancel.html",
        {
            "session": session,
            "task": task,
            "form": form,
            "live": session.signups.filter(status__in=LIVE_STATUSES).count(),
        },
    )


TRANSITIONS = {
    "submit": services.task_submit,
    "publish": services.task_publish,
    "close": services.task_close,
    "complete": services.task_complete,
}


def _transition_done(action: str) -> str:
    return {
        "submit": _("審査を依頼しました。まちの職員が確認して公開します。"),
        "publish": _("お手伝いを公開しました。"),
        "close": _("募集を締め切りました。申し込んだ人の参加はそのままです。"),
        "complete": _("お手伝いを終了にしました。活動レポートを書けます。"),
    }[action]


@personal
@get_or_post
def task_transition(request, pk: int, action: str):
    task = selectors.task_get(user=request.user, pk=pk)
    if action == "return":
        return _task_return(request, task)
    if action not in TRANSITIONS:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        TRANSITIONS[action](task=task, actor=request.user)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, _transition_done(action))
    return redirect(safe_next(request, _task_url(task)))


def _task_return(request, task):
    """Staff send a task in review back to its host, saying what to change."""
    if not staff_scope(user=request.user).manages_municipality(task.municipality_id):
        raise PermissionDenied(_("この市区町村の職員だけができる操作です。"))
    next_url = safe_next(request, reverse("matching:staff_tasks", args=[task.municipality_id]))
    if request.method == "POST":
        form = forms.ReturnForm(request.POST, auto_id=f"return-{task.pk}-%s")
        if form.is_valid():
            try:
                services.task_return(task=task, actor=request.user, note=form.cleaned_data["note"])
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("お手伝いをヌシに差し戻しました。"))
                return redirect(next_url)
    else:
        form = forms.ReturnForm(auto_id=f"return-{task.pk}-%s")
    return render(
        request, "matching/task_return.html", {"task": task, "form": form, "next": next_url}
    )


@personal
@get_or_post
def task_cancel(request, pk: int):
    task = _managed_task(request, pk)
    if request.method == "POST":
        form = forms.ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.task_cancel(
                    task=task, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(
                    request, _("お手伝いを中止しました。申し込んだ人全員にお知らせしました。")
                )
                return redirect("matching:task_detail", task.pk)
    else:
        form = forms.ReasonForm()
    return render(
        request,
        "matching/task_cancel.html",
        {
            "task": task,
            "form": form,
            "cancellable": task.status not in (TaskStatus.COMPLETED, TaskStatus.CANCELLED),
        },
    )


@personal
@get_or_post
def task_report(request, pk: int):
    task = _managed_task(request, pk)
    if request.method == "POST":
        form = forms.ReportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.task_report_publish(
                    task=task,
                    actor=request.user,
                    report=form.cleaned_data["report"],
                    photo=form.cleaned_data["photo"],
                )
            except ValidationError as error:
                task.refresh_from_db()
                put_errors(error, form)
            else:
                messages.success(request, _("活動レポートを公開しました。"))
                return redirect(_task_url(task) + "#report")
    else:
        form = forms.ReportForm(initial={"report": task.report})
    return render(request, "matching/task_report.html", {"task": task, "form": form})
