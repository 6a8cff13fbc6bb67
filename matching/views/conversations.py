"""Messages to a task's participants and questions to its host, as pages:

- the task's managers write to the people of a session or of the task, and read what was
  sent (the form and the history are on the participants page too);
- a person asks the host from the task's page, in their own thread;
- the host (or staff) reads the questions of a task, newest first, and answers in each.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.forms import NormalisedInputMixin
from core.pages import get_only, get_or_post, personal, put_errors
from core.templatetags.core_tags import jdatetime

from .. import selectors, services
from ..models import Audience, SessionStatus
from ._common import _managed_task

# The history shown beside the form on the participants page; the messages page has all.
PANEL_HISTORY = 5


class TaskMessageForm(NormalisedInputMixin, forms.Form):
    """A message to the task's participants. Lengths and the empty text are the service's
    to refuse, with their codes, so that the page and the API say the same words."""

    session = forms.TypedChoiceField(
        label=gettext_lazy("開催回"), coerce=int, empty_value=None, required=False
    )
    audience = forms.ChoiceField(
        label=gettext_lazy("宛先"),
        choices=Audience.choices,
        initial=Audience.HOLDING,
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(
        label=gettext_lazy("件名"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": services.conversations.SUBJECT_MAX}),
    )
    body = forms.CharField(
        label=gettext_lazy("本文"),
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 6, "maxlength": services.conversations.MESSAGE_BODY_MAX}
        ),
        help_text=gettext_lazy(
            "受け取る人それぞれに、サイト内のお知らせとメール（本人の設定どおり）で1回ずつ届きます。"
            "集合場所の変更や持ち物の連絡などにどうぞ。"
        ),
    )

    def __init__(self, *args, task, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("すべての回"))]
        for session in selectors.sessions_of(task):
            if session.status == SessionStatus.SCHEDULED:
                choices.append((session.pk, jdatetime(session.starts_at)))
        self.fields["session"].choices = choices
        self.task = task

    def clean_session(self):
        pk = self.cleaned_data.get("session")
        if pk is None:
            return None
        return self.task.sessions.get(pk=pk)  # one of the choices: the form checked it


class ThreadPostForm(NormalisedInputMixin, forms.Form):
    body = forms.CharField(
        label=gettext_lazy("本文"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": services.conversations.POST_BODY_MAX}),
    )


def panel_context(request, task) -> dict:
    """What the participants page shows of the messages: the form and the latest sent."""
    return {
        "task": task,
        "message_form": TaskMessageForm(task=task, auto_id="message-%s"),
        "history": list(selectors.task_messages_of(viewer=request.user, task=task)[:PANEL_HISTORY]),
        "thread_count": selectors.threads_of(viewer=request.user, task=task).count(),
    }


def _sent_message(message) -> str:
    if message.recipients == 0:
        return _(
            "メッセージを残しました。受け取る人は全員、このお知らせを受け取らない設定にしています。"
        )
    return ngettext(
        "%(n)d人にメッセージを送りました。",
        "%(n)d人にメッセージを送りました。",
        message.recipients,
    ) % {"n": message.recipients}


@personal
@get_or_post
def task_messages(request, pk: int):
    task = _managed_task(request, pk)
    form = TaskMessageForm(request.POST or None, task=task, auto_id="message-%s")
    if request.method == "POST" and form.is_valid():
        try:
            message = services.task_message_send(task=task, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            put_errors(error, form)
        else:
            messages.success(request, _sent_message(message))
            return redirect(reverse("matching:task_messages", args=[task.pk]))
    return render(
        request,
        "matching/conversations_messages.html",
        {
            "task": task,
            "message_form": form,
            "history": selectors.task_messages_of(viewer=request.user, task=task),
        },
    )


@personal
@get_only
def thread_list(request, pk: int):
    task = _managed_task(request, pk)
    return render(
        request,
        "matching/conversations_threads.html",
        {"task": task, "threads": selectors.threads_of(viewer=request.user, task=task)},
    )


def _thread_page(request, task, thread, form, *, answering: bool):
    return render(
        request,
        "matching/conversations_thread.html",
        {
            "task": task,
            "thread": thread,
            "posts": selectors.posts_of(thread) if thread is not None else [],
            "form": form,
            "answering": answering,
            "may_post": answering or task.is_public,
        },
    )


def _post(request, task, form, person=None) -> bool:
    """Post the form's text; False (with the errors on the form) if refused."""
    if not form.is_valid():
        return False
    try:
        services.thread_post(
            task=task, actor=request.user, person=person, body=form.cleaned_data["body"]
        )
    except ValidationError as error:
        put_errors(error, form)
        return False
    return True


@personal
@get_or_post
def thread_mine(request, pk: int):
    """The person's own questions on a task, and a new one."""
    task = selectors.task_get(user=request.user, pk=pk)
    if services.may_manage_task(request.user, task):
        return redirect(reverse("matching:thread_list", args=[task.pk]))
    form = ThreadPostForm(request.POST or None)
    if request.method == "POST" and _post(request, task, form):
        messages.success(request, _("ヌシに質問を送りました。回答が届いたらお知らせします。"))
        return redirect(reverse("matching:thread_mine", args=[task.pk]))
    thread = selectors.thread_of(viewer=request.user, task=task)
    return _thread_page(request, task, thread, form, answering=False)


@personal
@get_or_post
def thread_detail(request, pk: int):
    """One person's thread, for the task's managers to read and answer."""
    thread = selectors.thread_get(viewer=request.user, pk=pk)
    task = thread.task
    if thread.person_id == request.user.pk:
        return redirect(reverse("matching:thread_mine", args=[task.pk]))
    form = ThreadPostForm(request.POST or None)
    if request.method == "POST" and _post(request, task, form, person=thread.person):
        messages.success(
            request,
            _("%(name)s さんに回答を送りました。")
            % {"name": thread.person.public_name or _("（名前の登録なし）")},
        )
        return redirect(reverse("matching:thread_detail", args=[thread.pk]))
    return _thread_page(request, task, thread, form, answering=True)
