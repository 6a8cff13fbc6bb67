"""The version of the reference data (``core.versions``): moved when the prefectures and
municipalities are loaded again, so that their cached pages and searches are read anew."""

PLACES = "places"


def town_version(code: str) -> str:
    """The version of one town's own page (``places.town_page``): moved by its staff's
    edits of the page and of its perks, so the cached page shows them on the next request."""
    return f"town:{code}"
