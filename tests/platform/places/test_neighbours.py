"""The prefectures' neighbours, a matching signal."""

from places.neighbours import NEIGHBOURS, neighbours_of


def test_every_prefecture_has_neighbours_and_borders_are_mutual():
    assert sorted(NEIGHBOURS) == [f"{code:02d}" for code in range(1, 48)]
    for code, others in NEIGHBOURS.items():
        assert others and code not in others, code
        for other in others:
            assert code in NEIGHBOURS[other], (code, other)


def test_gifu_borders_its_seven_neighbours():
    # 富山, 石川, 福井, 長野, 愛知, 三重, 滋賀
    assert sorted(neighbours_of("21")) == ["16", "17", "18", "20", "23", "24", "25"]
