"""/api/schema/ is valid OpenAPI 3; /api/docs/ works with no request leaving the machine."""

import re

import pytest
from openapi_spec_validator import validate

from accounts.errors import AccountsCode
from core.errors import _ENUMS, Code, all_codes
from insights.errors import InsightsCode
from matching.errors import MatchingCode
from notifications.errors import NotificationsCode
from places.errors import PlacesCode
from registry.errors import RegistryCode

pytestmark = pytest.mark.django_db


def test_schema_is_valid_openapi_3(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate(schema)  # raises on any violation of the OpenAPI 3 specification
    for path in (
        "/api/prefectures/",
        "/api/municipalities/",
        "/api/municipalities/{code}/",
        "/api/auth/token/",
    ):
        assert path in schema["paths"]


def test_schema_documents_the_search_parameters(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    params = {p["name"] for p in schema["paths"]["/api/municipalities/"]["get"]["parameters"]}
    assert {"search", "prefecture", "region", "page"} <= params


def test_docs_load_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    # No inline script (the Content-Security-Policy): Swagger UI's start-up comes from
    # /api/docs/?script (drf-spectacular's split view).
    assert not re.search(r"<script>|<style", html), html
    start = client.get("/api/docs/?script=")
    assert start.status_code == 200
    assert start["Content-Type"].startswith("application/javascript")
    script = start.content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""url:\s*["']([^"']+)["']""", script)
    assert "/api/docs/?script=" in urls, html
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"{url} would leave the machine"
    # Every asset the page names is served by the site itself.
    for url in urls:
        if url.startswith("/static/"):
            assert client.get(url).status_code == 200, url
    # Swagger UI would otherwise ask validator.swagger.io about the schema.
    assert '"validatorUrl": null' in script


def test_swagger_bundles_reference_no_cdn(client):
    """The sidecar's bundle loads no further script or font from elsewhere at run time."""
    html = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"""src=["'](/static/[^"']+\.js)["']""", html)
    assert scripts, html
    for url in scripts:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content).decode("utf-8", "replace")
        assert "cdn.jsdelivr.net" not in body and "unpkg.com" not in body, url


def _error_codes_of(schema: dict) -> set[str]:
    """The enum of the error body's ``code`` (drf-spectacular may put it in a component)."""
    components = schema["components"]["schemas"]
    code = components["ErrorDetail"]["properties"]["code"]
    if "$ref" in code:
        code = components[code["$ref"].rsplit("/", 1)[1]]
    return set(code["enum"])


def test_schema_lists_the_codes_of_every_room(client):
    """Every room's errors.py is found (``all_codes`` autodiscovers them) and its codes are
    in the schema's enum of the error body."""
    codes = _error_codes_of(client.get("/api/schema/", {"format": "json"}).json())
    assert codes == set(all_codes())
    for enum in (
        Code,
        AccountsCode,
        NotificationsCode,
        PlacesCode,
        InsightsCode,
        RegistryCode,
        MatchingCode,
    ):
        assert {member.value for member in enum} <= codes, enum.__name__


# Values two rooms' enums share on purpose (none yet): a code means one thing project-wide.
SHARED_ON_PURPOSE: set[str] = set()


def test_no_two_rooms_share_a_code():
    all_codes()  # every room's enum registered
    owners: dict[str, list[str]] = {}
    for enum in _ENUMS:
        for member in enum:
            owners.setdefault(member.value, []).append(enum.__name__)
    shared = {value: names for value, names in owners.items() if len(names) > 1}
    assert set(shared) <= SHARED_ON_PURPOSE, shared
