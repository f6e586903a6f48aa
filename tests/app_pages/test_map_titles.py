"""The map titles script: lot ids from uploaded files must not end its string or its comment."""

from __future__ import annotations

import json
import re

import pytest

from app_pages.common import map_titles_html


@pytest.mark.parametrize("lot_id", ["R1\nalert(document.domain)//", "R1</script><script>alert(1)</script>",
                                    "R1\u2028alert(1)//", "R1'\"><img src=x onerror=alert(1)>"])
def test_map_titles__a_lot_id_cannot_end_the_script_s_string(lot_id):
    page = map_titles_html(["Map of the neighbourhood", f"Map of lot {lot_id}"])
    assert page.count("</script>") == 1
    assert page.count("<script>") == 1
    script = page[page.index("<script>"):page.index("</script>")]
    last = re.search(r"var last = (.*);  //", script)
    assert last is not None
    assert json.loads(last.group(1).replace("\\u003c", "<")) == f"Map of lot {lot_id}"
    marker = page[:page.index("<script>")]
    assert "<img" not in marker
    assert json.loads(re.search(r"data-sba-map-titles='([^']*)'", marker).group(1).replace("&quot;", '"')
                      .replace("&lt;", "<").replace("&gt;", ">").replace("&#x27;", "'").replace("&amp;", "&"))[-1] \
        == f"Map of lot {lot_id}"
