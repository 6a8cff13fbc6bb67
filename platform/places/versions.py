"""The version of the reference data (``core.versions``): moved when the prefectures and
municipalities are loaded again, so that their cached pages and searches are read anew."""

PLACES = "places"
