"""Messages to a task's participants and questions to its host:

- ``/api/tasks/{id}/messages/``: the task's managers read the history (GET) and write to
  the people of a session or of the task (POST);
- ``/api/tasks/{id}/threads/``: its managers' list of the questions asked, newest first;
- ``/api/tasks/{id}/question/``: the signed-in person's own thread on the task (GET) and a
  new question (POST);
- ``/api/threads/{id}/`` and ``/api/threads/{id}/posts/``: one thread, for its person and
  the task's managers only (anyone else: 404), and a post to it (an answer, or a further
  question).

Thin, as the rest of the API: a serializer in, one service, a serializer out."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import Pagination

from .. import selectors, services
from ..errors import MatchingCode
from ..models import Audience, Session, TaskMessage, Thread, ThreadPost

# Far above the service's limits, which answer with their own codes and words: this only
# keeps a body of megabytes out of the service.
TEXT_LIMIT = 20_000


class TaskMessageInSerializer(serializers.Serializer):
    session = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="開催回の ID（省略ですべての回）"
    )
    audience = serializers.ChoiceField(choices=Audience.choices)
    subject = serializers.CharField(max_length=TEXT_LIMIT, allow_blank=True)
    body = serializers.CharField(max_length=TEXT_LIMIT, allow_blank=True)


class TaskMessageSerializer(serializers.ModelSerializer):
    session_starts_at = serializers.DateTimeField(
        source="session.starts_at", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = TaskMessage
        fields = [
            "id",
            "session",
            "session_starts_at",
            "audience",
            "subject",
            "body",
            "recipients",
            "created_at",
        ]
        read_only_fields = fields


class ThreadPostInSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=TEXT_LIMIT, allow_blank=True)


class ThreadPostSerializer(serializers.ModelSerializer):
    class Meta:
        model = ThreadPost
        fields = ["id", "by_host", "body", "created_at"]
        read_only_fields = fields


class ThreadSummarySerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.public_name", read_only=True)
    post_count = serializers.IntegerField(read_only=True)
    answered = serializers.SerializerMethodField()

    class Meta:
        model = Thread
        fields = ["id", "task", "person_name", "post_count", "answered", "last_posted_at"]
        read_only_fields = fields

    def get_answered(self, thread) -> bool:
        """Whether the last post is the host's (or staff's) answer."""
        return bool(thread.last_by_host)


class ThreadSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.public_name", read_only=True)
    posts = serializers.SerializerMethodField()

    class Meta:
        model = Thread
        fields = ["id", "task", "person_name", "created_at", "last_posted_at", "posts"]
        read_only_fields = fields

    @extend_schema_field(ThreadPostSerializer(many=True))
    def get_posts(self, thread):
        return ThreadPostSerializer(selectors.posts_of(thread), many=True).data


def _thread_out(thread: Thread, code: int = status.HTTP_200_OK) -> Response:
    return Response(ThreadSerializer(thread).data, status=code)


class TaskMessagesView(APIView):
    """A task's messages to its participants: the history, and a new one."""

    pagination_class = Pagination

    def _task(self, request, pk: int):
        return selectors.task_get(user=request.user, pk=pk)

    @extend_schema(
        summary="参加者へのメッセージの履歴（ヌシ・自治体職員）",
        responses=TaskMessageSerializer(many=True),
    )
    def get(self, request, pk: int):
        task = self._task(request, pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.task_messages_of(viewer=request.user, task=task), request, view=self
        )
        return paginator.get_paginated_response(TaskMessageSerializer(page, many=True).data)

    @extend_schema(
        summary="参加者にメッセージを送る（ヌシ・自治体職員）",
        request=TaskMessageInSerializer,
        responses={201: TaskMessageSerializer},
    )
    def post(self, request, pk: int):
        task = self._task(request, pk)
        serializer = TaskMessageInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        session = None
        if data["session"] is not None:
            session = Session.objects.filter(pk=data["session"], task=task).first()
            if session is None:
                raise ValidationError(
                    {
                        "session": ValidationError(
                            _("この開催回は、このお手伝いの回ではありません。"),
                            code=MatchingCode.NOT_TASK_SESSION,
                        )
                    }
                )
        message = services.task_message_send(
            task=task,
            actor=request.user,
            session=session,
            audience=data["audience"],
            subject=data["subject"],
            body=data["body"],
        )
        return Response(TaskMessageSerializer(message).data, status=status.HTTP_201_CREATED)


class TaskThreadsView(APIView):
    """The questions asked about a task, newest first, for the people who run it."""

    pagination_class = Pagination

    @extend_schema(
        summary="届いた質問の一覧（ヌシ・自治体職員）",
        responses=ThreadSummarySerializer(many=True),
    )
    def get(self, request, pk: int):
        task = selectors.task_get(user=request.user, pk=pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.threads_of(viewer=request.user, task=task), request, view=self
        )
        return paginator.get_paginated_response(ThreadSummarySerializer(page, many=True).data)


class TaskQuestionView(APIView):
    """The signed-in person's own questions to a task's host."""

    @extend_schema(summary="ヌシへの自分の質問と回答", responses=ThreadSerializer)
    def get(self, request, pk: int):
        task = selectors.task_get(user=request.user, pk=pk)
        thread = selectors.thread_of(viewer=request.user, task=task)
        if thread is None:
            raise Http404
        return _thread_out(thread)

    @extend_schema(
        summary="ヌシに質問する",
        request=ThreadPostInSerializer,
        responses={201: ThreadSerializer},
    )
    def post(self, request, pk: int):
        task = selectors.task_get(user=request.user, pk=pk)
        serializer = ThreadPostInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = services.thread_post(task=task, actor=request.user, **serializer.validated_data)
        return _thread_out(post.thread, status.HTTP_201_CREATED)


class ThreadView(APIView):
    """One thread, for its person and the task's managers."""

    @extend_schema(
        summary="質問のやりとり（質問した人・ヌシ・自治体職員）", responses=ThreadSerializer
    )
    def get(self, request, pk: int):
        return _thread_out(selectors.thread_get(viewer=request.user, pk=pk))


class ThreadPostsView(APIView):
    """A post to a thread: the host's or staff's answer, or the person's further question."""

    @extend_schema(
        summary="質問に回答する・続けて質問する",
        request=ThreadPostInSerializer,
        responses={201: ThreadSerializer},
    )
    def post(self, request, pk: int):
        thread = selectors.thread_get(viewer=request.user, pk=pk)
        serializer = ThreadPostInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = services.thread_post(
            task=thread.task,
            actor=request.user,
            person=thread.person,
            **serializer.validated_data,
        )
        return _thread_out(post.thread, status.HTTP_201_CREATED)


def conversation_urls():
    """The API's routes of this module (``config.urls`` lists them)."""
    return [
        path("tasks/<int:pk>/messages/", TaskMessagesView.as_view(), name="task-messages"),
        path("tasks/<int:pk>/threads/", TaskThreadsView.as_view(), name="task-threads"),
        path("tasks/<int:pk>/question/", TaskQuestionView.as_view(), name="task-question"),
        path("threads/<int:pk>/", ThreadView.as_view(), name="thread-detail"),
        path("threads/<int:pk>/posts/", ThreadPostsView.as_view(), name="thread-posts"),
    ]
