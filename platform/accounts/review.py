"""One review queue: a town's staff approve or refuse what a person asked them for.

Host applications and task revisions (matching), premium applications and reported
activities (registry) are each a ``Queue``: where the item's town is, whose item it is, how
its rows are locked and what approving it does. Everything else is the same for all four
and written once here: the decision service (``review_decide(queue, item=, actor=,
approve=, note=)``), the page's form (``ReviewForm``), the API's request body
(``DecisionSerializer``) and its action (``DecisionView``, ``decide_from_api``), the page's handling
(``decide_from_page``) and the template (``includes/review_form.html``).

The rules, for every queue:

- only staff of the item's town decide (``not_staff_here``, 403), and nobody decides on
  their own item (``own_item``, 403);
- a refusal says why when the queue asks for it (``note_required``, 400): the person is told;
- an item decided meanwhile is a clash with the state (``already_decided``, 409);
- the decision, who made it and the note are written on the item, and audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import Code, Conflict, Denied
from core.forms import NormalisedInputMixin
from core.pages import put_errors
from core.text import as_typed

from .selectors import managed_object, staff_scope
from .services import audit_record

NOTE_MAX = 1000


@dataclass(frozen=True)
class Words:
    """What a queue's pages and refusals say, in its own terms."""

    decision: str  # the form's legend: 審査, 決定, 確認
    approve: str  # the choices
    refuse: str
    note: str  # the note's label
    not_staff: str  # the refusals
    note_required: str
    already_decided: str


@dataclass(frozen=True)
class Queue:
    """One kind of item staff decide on."""

    name: str  # for the form's prefix: "application", "activity", "revision"
    audit: tuple[str, str]  # the audit log's actions for approve and refuse
    pending: str  # the item's status values
    approved: str
    refused: str
    municipality: Callable[[Any], Any]  # the item's town
    # (item, actor): why the actor may not decide on this item of their own, or None.
    own: Callable[[Any, Any], str | None]
    lock: Callable[[Any], Any]  # the item again, with its rows locked (in the lock order)
    words: Words
    # Inside the transaction, after the item is marked decided: what the decision does (a
    # role granted, a change applied, the person told). Raising rolls everything back.
    apply: Callable[[Any, Any, bool], None] = lambda item, actor, approve: None
    note_required: bool = True  # a refusal must say why
    # The item's fields for the decision (activities call theirs "reviewed_…").
    status_field: str = "status"
    at_field: str = "decided_at"
    by_field: str = "decided_by"
    note_field: str = "decision_note"
    audit_detail: Callable[[Any], dict] = field(default=lambda item: {})


def review_decide(queue: Queue, *, item, actor, approve: bool, note: str = ""):
    """Approve or refuse ``item`` of ``queue`` as ``actor`` (``None``: an automatic
    verifier, which skips the staff checks). Returns the item as decided."""
    municipality = queue.municipality(item)
    if actor is not None:
        if not staff_scope(user=actor).manages_municipality(municipality.code):
            raise Denied(queue.words.not_staff, code=Code.NOT_STAFF_HERE)
        if reason := queue.own(item, actor):
            raise Denied(reason, code=Code.OWN_ITEM)
    note = note.strip()[:NOTE_MAX]
    if queue.note_required and not approve and not note:
        raise ValidationError(
            {"note": ValidationError(queue.words.note_required, code=Code.NOTE_REQUIRED)}
        )
    with transaction.atomic():
        item = queue.lock(item)
        if getattr(item, queue.status_field) != queue.pending:
            raise Conflict(queue.words.already_decided, code=Code.ALREADY_DECIDED)
        setattr(item, queue.status_field, queue.approved if approve else queue.refused)
        setattr(item, queue.at_field, timezone.now())
        setattr(item, queue.by_field, actor)
        setattr(item, queue.note_field, note)
        item.save(
            update_fields=[queue.status_field, queue.at_field, queue.by_field, queue.note_field]
        )
        queue.apply(item, actor, approve)
        audit_record(
            actor=actor,
            action=queue.audit[0] if approve else queue.audit[1],
            target=item,
            municipality=municipality,
            detail=queue.audit_detail(item),
        )
    return item


# --- Pages -------------------------------------------------------------------------------


class ReviewForm(NormalisedInputMixin, forms.Form):
    """The decision on one item: approve or refuse, and a note for the person."""

    decision = forms.ChoiceField(widget=forms.RadioSelect)
    note = forms.CharField(
        max_length=NOTE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, queue: Queue, item=None, **kwargs):
        kwargs.setdefault("prefix", f"{queue.name}-{item.pk}" if item is not None else None)
        super().__init__(*args, **kwargs)
        words = queue.words
        self.fields["decision"].label = words.decision
        self.fields["decision"].choices = [("approve", words.approve), ("refuse", words.refuse)]
        self.fields["note"].label = words.note

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


def decide_from_page(request, queue: Queue, item, form: ReviewForm, done: Callable[[bool], str]):
    """Decide as the posted ``form`` says. True once decided (``done(approve)`` shown as a
    message); False with the refusal on the form, to show it again."""
    if not form.is_valid():
        return False
    try:
        review_decide(
            queue,
            item=item,
            actor=request.user,
            approve=form.approve,
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        put_errors(error, form)
        return False
    messages.success(request, done(form.approve))
    return True


def with_forms(request, queue: Queue, items, *, bound: ReviewForm | None = None, bound_pk=None):
    """(item, its form) for a queue's page. The form just sent keeps its errors; if its item
    has left the queue meanwhile, its errors become messages."""
    items = list(items)
    if bound is not None and bound_pk not in {item.pk for item in items}:
        for error in bound.non_field_errors():
            messages.error(request, error)
    return [
        (
            item,
            bound
            if bound is not None and item.pk == bound_pk
            else ReviewForm(queue=queue, item=item),
        )
        for item in items
    ]


# --- API ---------------------------------------------------------------------------------


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")

    def validate_note(self, value: str) -> str:
        return as_typed(value)


def decide_from_api(request, queue: Queue, item):
    """The API's decision on ``item``: the body is ``{"approve": bool, "note": "…"}``."""
    serializer = DecisionSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return review_decide(
        queue,
        item=item,
        actor=request.user,
        approve=serializer.validated_data["approve"],
        note=serializer.validated_data["note"],
    )


class DecisionView(APIView):
    """``POST`` a decision on one item of ``queue``, found by its ``pk`` among the items of
    the towns the caller manages (404 for others); answers the item as decided."""

    queue: Queue
    queryset: QuerySet
    municipality_field: str
    serializer_class: type[serializers.Serializer]

    def get_item(self, request, **kwargs):
        return managed_object(
            self.queryset,
            user=request.user,
            pk=kwargs["pk"],
            municipality_field=self.municipality_field,
        )

    def post(self, request, **kwargs):
        item = decide_from_api(request, self.queue, self.get_item(request, **kwargs))
        return Response(self.serializer_class(item, context={"request": request}).data)
