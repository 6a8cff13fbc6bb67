"""A hook for the tests of safe retries: the answer lost on its way back to the client."""

from __future__ import annotations

LOSE = "HTTP_X_TEST_LOSE_ANSWER"


class AnswerLost(Exception):
    pass


class LoseTheAnswerMiddleware:
    """First in ``MIDDLEWARE`` in a test: a request with ``X-Test-Lose-Answer`` has run to
    the end — its transaction committed — and then its answer is lost (the client gets a
    500, as when a proxy, the network or a worker kill cuts the response path)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if LOSE in request.META:
            raise AnswerLost("the answer did not reach the client")
        return response


class FailsAfterWriting(Exception):
    pass


def _fails_after_signing_up():
    from rest_framework.views import APIView

    from matching import selectors, services

    class FailsAfterSigningUp(APIView):
        """Signs its caller up for a session, then fails: the API answers 500."""

        def post(self, request, pk):
            session = selectors.session_get(user=request.user, pk=pk)
            services.signup_create(session=session, person=request.user)
            raise FailsAfterWriting("a fault after the change")

    return FailsAfterSigningUp.as_view()


def urlpatterns_with_a_failing_write():
    from django.urls import path

    from config.urls import urlpatterns

    return [
        path("api/test/sessions/<int:pk>/fails/", _fails_after_signing_up()),
        *urlpatterns,
    ]
