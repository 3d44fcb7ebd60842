"""A bar chart leaves room for its longest label as it is drawn: a Chinese character is
about twice as wide as a Latin one, so "卡住的認領" must not be cut at the chart's edge."""

import re

from dashboards.charts import bar_chart


def gutter(svg: str) -> int:
    """Where the bars start: the x of the first bar."""
    found = re.search(r'<rect x="(\d+)"', svg)
    assert found is not None
    return int(found[1])


def test_a_chinese_label_gets_twice_the_room_of_a_latin_one_of_as_many_characters():
    latin = gutter(bar_chart([("abcdefgh", 3)], label="gates"))
    chinese = gutter(bar_chart([("卡住的認領關卡", 3)], label="gates"))  # 7 wide characters

    assert latin == round(8 * 6.5 + 12)
    assert chinese == 7 * 12 + 12


def test_the_room_for_labels_stops_at_200_px():
    assert gutter(bar_chart([("很" * 40, 1)], label="long")) == 200
