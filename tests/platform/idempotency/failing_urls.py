"""The site's URLs and one API write that fails after its change (tests of safe retries)."""

from tests.platform.idempotency.support import urlpatterns_with_a_failing_write

urlpatterns = urlpatterns_with_a_failing_write()
