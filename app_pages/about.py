"""How it works, and how to use the app with no internet."""

import streamlit as st

from app_pages import common as c

c.keep()

st.title("How it works")
st.markdown(
    """
**Stormwater billable area** is the part of your lot that keeps rain from soaking into the ground:
roofs of every building, driveways, parking, walkways (flagstones too), patios, decks, porches and
pervious pavers. Your stormwater charge depends on it.

**How this tool measures it**

1. You trace each surface on an aerial photo (or load the outlines the utility has on file, or
   upload your own drawing, or enter tape measurements on the worksheet page).
2. The tool measures the outlines itself, in a local map projection in square feet (never from the
   web map): it cuts them at your lot line, counts overlaps once, and removes anything over water.
   Docks and floating homes count only where they are on land: the part over water does not count.
   Without a water layer they are taken to be over water; one drawn wholly on land counts in full
   and is flagged for the City to check (it may be a loading dock, which is billable).
3. The total is rounded to whole square feet. A house is **small** up to 1,500 sq ft, **standard**
   from 1,501 to 2,700 sq ft and **large** from 2,701 sq ft (Portland).
4. The bill is worked out from the chosen rate schedule, line by line, in exact decimal arithmetic.

**What it does not do**

It does not decide anything: the City makes the final measurement, and a change is effective only
from the date the City confirms it (never backdated). The discount (Clean River Rewards) and some
category figures are estimates; the app says so wherever they are used.

**Asking for a category change**

On *My lot*, step 4 makes a ZIP file with your shapes, the three totals the City's form asks for
(roofs; driveway and parking; other hard surfaces), your current and computed category, a method
statement and a PDF report with a map. Send it with the City's category change request.
"""
)
st.header("Using it with no internet")
st.markdown(
    """
The app works fully offline:

* The map library (Leaflet and its drawing tool) is bundled with the app; nothing is loaded from
  the web.
* The sample neighbourhood comes with its own aerial photo (a small made-up GeoTIFF), shown under
  your lot.
* **Use online aerial photos** (sidebar) is off by default. Turn it on only when you are online;
  it adds Esri World Imagery tiles.
* With your own data, upload your parcel file and, for a photo, a GeoTIFF orthophoto of your area
  in the sidebar of *My lot*.
* Without any photo, use the **Tape-measure worksheet**.
"""
)
