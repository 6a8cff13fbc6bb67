"""All prefectures and municipalities, loaded from the data packages, idempotently."""

import math

import pytest

from places.codes import check_digit, is_valid_code
from places.models import Municipality, MunicipalityKind, Prefecture, Region
from places.services import municipalities_load

pytestmark = pytest.mark.django_db


def test_exactly_47_prefectures_and_1741_municipalities():
    assert Prefecture.objects.count() == 47
    assert Municipality.objects.count() == 1741


def test_the_23_special_wards_of_tokyo_and_no_designated_city_wards():
    wards = Municipality.objects.filter(kind=MunicipalityKind.SPECIAL_WARD)
    assert wards.count() == 23
    assert set(wards.values_list("prefecture__name", flat=True)) == {"東京都"}
    # Designated cities register as one municipality: 横浜市 yes, 横浜市中区 no.
    assert Municipality.objects.filter(name="横浜市").exists()
    assert not Municipality.objects.filter(name__contains="市中区").exists()


def test_every_code_has_a_valid_check_digit():
    codes = list(Municipality.objects.values_list("code", flat=True))
    codes += list(Prefecture.objects.values_list("lg_code", flat=True))
    assert len(codes) == 1788
    assert all(is_valid_code(code) for code in codes)


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("212172", True),
        ("131016", True),
        ("012131", True),
        ("212171", False),
        ("21217", False),
        ("abcdef", False),
    ],
)
def test_check_digit_rule(code, valid):
    assert is_valid_code(code) is valid


def test_check_digit_is_one_when_the_remainder_is_zero():
    # 0*6 + 1*5 + 2*4 + 1*3 + 3*2 = 22, 22 mod 11 = 0 -> (11 - 0) mod 10 = 1 (千歳市 012131)
    assert check_digit("01213") == 1


def test_hida_city():
    hida = Municipality.objects.select_related("prefecture").get(code="212172")
    assert (hida.name, hida.kana, hida.prefecture.name) == ("飛騨市", "ヒダシ", "岐阜県")
    assert hida.prefecture.region == Region.CHUBU
    assert hida.kind == MunicipalityKind.CITY


def test_tambasasayama_has_a_coordinate_despite_its_rename():
    city = Municipality.objects.get(name="丹波篠山市")
    assert city.code == "282219"
    assert 34.9 < city.latitude < 35.2 and 135.0 < city.longitude < 135.4


def test_every_municipality_has_a_coordinate_in_japan_and_full_width_kana():
    assert Municipality.objects.count() == 1741
    for lat, lng, kana in Municipality.objects.values_list("latitude", "longitude", "kana"):
        assert 20 <= lat <= 46 and 122 <= lng <= 154
        assert kana and all(not ("\uff61" <= ch <= "\uff9f") for ch in kana)  # no half-width


def test_prefectures_are_in_jis_order_and_in_their_regions():
    prefectures = list(Prefecture.objects.all())
    assert prefectures[0].name == "北海道" and prefectures[-1].name == "沖縄県"
    assert [p.code for p in prefectures] == [f"{n:02d}" for n in range(1, 48)]
    counts = dict.fromkeys(Region.values, 0)
    for p in prefectures:
        counts[p.region] += 1
    assert counts == {
        "hokkaido": 1,
        "tohoku": 6,
        "kanto": 7,
        "chubu": 9,
        "kinki": 7,
        "chugoku": 5,
        "shikoku": 4,
        "kyushu_okinawa": 8,
    }


def test_loading_again_changes_nothing():
    before = list(Municipality.objects.values_list())
    result = municipalities_load()
    assert (result.prefectures, result.municipalities) == (47, 1741)
    assert list(Municipality.objects.values_list()) == before


def test_loading_repairs_a_changed_row():
    Municipality.objects.filter(code="212172").update(name="誤り", latitude=40.0)
    municipalities_load()
    hida = Municipality.objects.get(code="212172")
    assert hida.name == "飛騨市"
    assert not math.isclose(hida.latitude, 40.0)
