"""The statistics' own tables: what was counted, the counts, and the published figures.

Nothing here is a domain row. ``Tally`` remembers each registration as the counts last saw
it, so an update subtracts what was counted and adds what is true now: re-running it changes
nothing (idempotent), and a missed run is caught up by the next. ``Count`` holds the cells,
``Published`` the same cells as everyone without row-level rights sees them (suppressed
where a person could be recognised), written in one transaction so that a page never mixes
two versions.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Tally(models.Model):
    """A registration as last counted (codes, not foreign keys: a snapshot, not a link)."""

    registration_id = models.BigIntegerField(primary_key=True)
    person_id = models.BigIntegerField()
    municipality = models.CharField(max_length=6)
    active = models.BooleanField()
    registered_on = models.DateField()
    withdrawn_on = models.DateField(null=True)
    tier = models.CharField(max_length=8)
    types = models.PositiveSmallIntegerField()
    home = models.CharField(max_length=6)
    gender = models.CharField(max_length=8)
    age_band = models.CharField(max_length=8)

    class Meta:
        verbose_name = _("集計済みの登録")
        verbose_name_plural = pgettext_lazy("plural", "集計済みの登録")
        ordering = ["registration_id"]
        indexes = [models.Index(fields=["person_id"], name="insights_tally_person_idx")]

    def __str__(self) -> str:
        return f"{self.registration_id} → {self.municipality}"


class Cell(models.Model):
    """One figure: ``area`` is "JP", "R<region>", "P<prefecture code>" or "M<municipality
    code>"; ``measure`` and ``key`` say what is counted (``insights.cells``)."""

    area = models.CharField(max_length=16)  # "R" + the longest region, "kyushu_okinawa"
    measure = models.CharField(max_length=12)
    key = models.CharField(max_length=16, blank=True)

    class Meta:
        abstract = True
        ordering = ["area", "measure", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "measure", "key"], name="insights_%(class)s_cell_unique"
            )
        ]
        # Rankings read one measure across all municipalities.
        indexes = [
            models.Index(fields=["measure", "key", "area"], name="insights_%(class)s_measure_idx")
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.measure} {self.key} = {self.value}"


class Count(Cell):
    """A figure as counted (what national administrators see)."""

    value = models.BigIntegerField()

    class Meta(Cell.Meta):
        verbose_name = _("集計値")
        verbose_name_plural = pgettext_lazy("plural", "集計値")


class Published(Cell):
    """A figure as published to viewers without row-level rights; ``value`` is null where
    it is suppressed (秘匿). ``shown`` is the last value ever shown for it: anyone may have
    kept it, so the next publication must not give away a small change from it."""

    value = models.BigIntegerField(null=True)
    shown = models.BigIntegerField(null=True)

    class Meta(Cell.Meta):
        verbose_name = _("公表値")
        verbose_name_plural = pgettext_lazy("plural", "公表値")


class Page(models.Model):
    """What one published page (and its API) needs, written by the publication: the figures
    of the areas it shows, its series for one period, its ranking and the names of its
    children, in words of no language (labels are looked up when it is shown). A page view
    reads this one row, not the cells."""

    key = models.CharField(max_length=32, primary_key=True)  # "<area>:<period>"
    payload = models.JSONField()
    version = models.PositiveBigIntegerField()

    class Meta:
        verbose_name = _("公表ページ")
        verbose_name_plural = pgettext_lazy("plural", "公表ページ")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class State(models.Model):
    """Where the counting stands (one row): the change feeds read so far, and when the
    counts and the published figures were last brought up to date."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    event_mark = models.BigIntegerField(default=0)
    profile_mark = models.DateTimeField(null=True)
    counted_at = models.DateTimeField(null=True)
    board_counted_at = models.DateTimeField(null=True)
    # The registrations changed since the board (and the funnel, which joins the two) was
    # last counted.
    board_due = models.BooleanField(default=False)
    # What the board looked like when it was last counted (``services.board_fingerprint``).
    board_fingerprint = models.CharField(max_length=200, blank=True)
    # When the counts last changed, and when they were last published (at most once every
    # INSIGHTS_PUBLISH_SECONDS).
    changed_at = models.DateTimeField(null=True)
    published_at = models.DateTimeField(null=True)
    published_as_of = models.DateTimeField(null=True)
    rebuilt_at = models.DateTimeField(null=True)
    # Drawn at every publication: the published pages' version (their ETag, their cache key).
    published_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("集計の状態")
        verbose_name_plural = pgettext_lazy("plural", "集計の状態")
        constraints = [
            models.CheckConstraint(name="insights_state_one_row", condition=models.Q(id=1))
        ]

    def __str__(self) -> str:
        return f"counted {self.counted_at or '-'}, published {self.published_at or '-'}"

    @classmethod
    def now(cls) -> "State":
        return cls.objects.get_or_create(id=1)[0]


class BoardChange(models.Model):
    """The board's change feed: a row for every sign-up, session or task written, put there
    by PostgreSQL triggers (``migrations/0002``) so that no service of the board spends a
    statement on it. ``counts_update`` takes the rows it can see (deleting them), so a row
    of a transaction still open stays for the next run. SQLite has no triggers here: the
    board is recounted whole there when it has changed (``services.board_fingerprint``)."""

    id = models.BigAutoField(primary_key=True)
    person_id = models.BigIntegerField(null=True)  # a sign-up's person
    session_id = models.BigIntegerField(null=True)  # a session's (its sign-ups' people)
    task_id = models.BigIntegerField(null=True)  # a task's (its sessions' and sign-ups')
    municipality = models.CharField(max_length=6, blank=True)  # where a task or session was

    class Meta:
        verbose_name = _("掲示板の変更")
        verbose_name_plural = pgettext_lazy("plural", "掲示板の変更")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id}: {self.person_id or ''} {self.session_id or ''} {self.task_id or ''}"


class Took(models.Model):
    """What one person's sign-ups counted in one municipality's tasks (the board's ledger,
    as ``Tally`` is the registrations'): their confirmed sign-ups of live sessions, how many
    of those they attended or missed, and to which of the task's areas they were tied by an
    active registration (``TIED_*`` bits). The participation and funnel cells are sums over
    these rows, so a change of a person's sign-ups or registrations is counted by
    subtracting their rows and adding them as they are now."""

    TIED_MUNICIPALITY, TIED_PREFECTURE, TIED_REGION, TIED_NATION = 1, 2, 4, 8

    id = models.BigAutoField(primary_key=True)
    person_id = models.BigIntegerField()
    municipality = models.CharField(max_length=6)
    prefecture = models.CharField(max_length=2)  # the task's (as the board files it)
    signups = models.PositiveIntegerField()
    attended = models.PositiveIntegerField()
    no_show = models.PositiveIntegerField()
    tied = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("集計済みの参加")
        verbose_name_plural = pgettext_lazy("plural", "集計済みの参加")
        ordering = ["person_id", "municipality"]
        constraints = [
            models.UniqueConstraint(
                fields=["person_id", "municipality", "prefecture"], name="insights_took_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.municipality}: {self.signups}"
