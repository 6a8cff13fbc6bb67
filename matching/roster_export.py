"""A roster as files Japanese Excel opens: CSV in UTF-8 with a BOM (the default), CSV in
Shift_JIS (Windows' ``cp932``, on request) and XLSX (openpyxl).

Shift_JIS cannot hold every name: ``cp932`` has 髙 and 﨑 (the IBM extensions) but not 𠮷
or most characters outside JIS X 0208 and its extensions. A name silently changed on an
insurance list is worse than no list, so such a roster is refused, naming the rows and the
characters, and the host is pointed to UTF-8 or XLSX, which hold every name.

Every cell that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@`` first) is
written as text."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.styles import Font

from core.language import list_join

from .errors import MatchingCode
from .selectors import DetailsState, Roster, RosterRow

# Characters of JIS X 0208 that Unicode spells two ways: the one ``cp932`` has.
CP932_SPELLINGS = str.maketrans({"\u2014": "\u2015"})
FORMULA_FIRST = ("=", "+", "-", "@", "\t", "\r")


def _headers(roster: Roster) -> list[str]:
    headers = [_("No."), _("氏名"), _("フリガナ"), _("状態")]
    if "phone" in roster.columns:
        headers.append(_("電話番号"))
    if "emergency" in roster.columns:
        headers += [_("緊急連絡先（氏名・続柄）"), _("緊急連絡先（電話番号）")]
    if "birth_date" in roster.columns:
        headers.append(_("生年月日"))
    headers += [_("出欠"), _("申込日時"), _("連絡先の状態")]
    return headers


def _state_label(row: RosterRow) -> str:
    return {
        DetailsState.GIVEN: _("提供済み"),
        DetailsState.DELETED: _("保存期間を過ぎたため削除済み"),
        DetailsState.MISSING: _("未提供"),
    }[row.state]


def _values(roster: Roster, row: RosterRow) -> list:
    values: list = [row.number, row.full_name, row.furigana, row.status_label]
    if "phone" in roster.columns:
        values.append(row.phone)
    if "emergency" in roster.columns:
        values += [row.emergency_name, row.emergency_phone]
    if "birth_date" in roster.columns:
        values.append(row.birth_date.isoformat() if row.birth_date else "")
    created = timezone.localtime(row.signup.created_at).strftime("%Y-%m-%d %H:%M")
    values += [row.attendance_label, created, _state_label(row)]
    return values


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_FIRST):
        return "'" + value
    return value


def roster_table(roster: Roster, *, for_csv: bool = True) -> list[list]:
    """The roster as rows of cells, headers first; for a CSV, text a spreadsheet would take
    for a formula begins with an apostrophe."""
    rows = [_values(roster, row) for row in roster.rows]
    if for_csv:
        rows = [[_safe(v) for v in values] for values in rows]
    return [_headers(roster), *rows]


def filename(roster: Roster, extension: str) -> str:
    starts = timezone.localtime(roster.session.starts_at).strftime("%Y%m%d-%H%M")
    return f"roster-{roster.task.pk}-{roster.session.pk}-{starts}.{extension}"


def roster_csv(roster: Roster, encoding: str = "utf-8") -> bytes:
    """The roster as CSV: UTF-8 with a BOM, or ``cp932`` (refused, with the rows named,
    when a name does not fit)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(roster_table(roster))
    text = out.getvalue()
    if encoding == "utf-8":
        return text.encode("utf-8-sig")
    text = text.translate(CP932_SPELLINGS)
    try:
        return text.encode("cp932")
    except UnicodeEncodeError:
        raise _not_shift_jis(roster) from None


def _not_shift_jis(roster: Roster) -> ValidationError:
    problems = []
    for row, values in zip(roster.rows, roster_table(roster)[1:], strict=True):
        bad = []
        for value in values:
            for char in str(value).translate(CP932_SPELLINGS):
                try:
                    char.encode("cp932")
                except UnicodeEncodeError:
                    if char not in bad:
                        bad.append(char)
        if bad:
            problems.append(
                _("%(number)d番（%(name)s）の「%(chars)s」")
                % {"number": row.number, "name": row.full_name, "chars": "".join(bad)}
            )
    return ValidationError(
        _(
            "Shift_JIS では表せない文字があるため、Shift_JIS の CSV は作れません：%(rows)s。"
            "文字を置き換えると名前が変わってしまうので、UTF-8（BOM付き）の CSV か Excel（XLSX）"
            "でダウンロードしてください。"
        )
        % {"rows": list_join(problems)},
        code=MatchingCode.ROSTER_NOT_SHIFT_JIS,
    )


def roster_xlsx(roster: Roster) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("参加者名簿")
    sheet.append([roster.task.title])
    starts = timezone.localtime(roster.session.starts_at).strftime("%Y-%m-%d %H:%M")
    ends = timezone.localtime(roster.session.ends_at).strftime("%H:%M")
    sheet.append([f"{starts} – {ends}"])
    sheet["A1"].font = Font(bold=True)
    table = roster_table(roster, for_csv=False)
    sheet.append(table[0])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for values in table[1:]:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING  # never a formula
    widths = (5, 18, 18, 14, 16, 22, 16, 12, 14, 18, 18)
    for column, width in zip("ABCDEFGHIJK", widths, strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A4"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
