"""The stylesheet stays well-formed (issue 11: one shell on every page). A brace lost in a
merge silently drops every rule after it — the phone menu, the bulk bar — so count them."""

import re

from django.contrib.staticfiles import finders


def test_x1_app_css_braces_balance_so_no_rule_is_swallowed():
    css = open(finders.find("css/app.css"), encoding="utf-8").read()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # comments
    css = re.sub(r"\"[^\"\n]*\"|'[^'\n]*'", '""', css)  # strings
    depth = 0
    for number, line in enumerate(css.splitlines(), 1):
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, f"a '}}' closes nothing on line {number}"
        assert depth <= 2, f"rules nested deeper than an @media block at line {number}"
    assert depth == 0, "a '{' is never closed"
