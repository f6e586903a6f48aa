"""Evidence packages for any sample lot, drawn exactly as the City's record has it (test helper)."""

from __future__ import annotations

import categorize
from gis.shapes import shapes_from_layer
from sba import evidence as ev
from sba.requests import Records
from sba.requests.intake import Requester


def record_package(records: Records, parcel_id: str) -> tuple[bytes, Requester]:
    """A homeowner's package for ``parcel_id`` whose shapes are the record's own, and its requester."""
    lot = records.lot(parcel_id)
    info = records.lot_record(parcel_id)
    shapes = shapes_from_layer(records.features, lot, id_prefix="s", source="drawn")
    m = ev.measure_shapes(lot, shapes, records.water, records.schedule)
    bill = categorize.estimate(schedule=records.schedule, property_class="single_family",
                               area_sqft=m.billable_area_sqft)
    account = info.accounts[0]
    holder = info.holders.get(account, "Sample Homeowner")
    # a request asks for another category than the bill's: say the lot is billed in another one
    billed = info.current_category
    if billed == bill.category:
        billed = next(c.name for c in records.schedule.categories if c.name != bill.category)
    req = ev.ChangeRequest(parcel_id, account, info.address, current_category=billed,
                           imagery="the sample photo", single_family=True, one_dwelling_unit=True,
                           one_account=True, account_holder=True)
    data = ev.build_package(m, req, shapes=shapes, lot=lot, water=records.water, bill=bill,
                            schedule_name=records.schedule.name)
    return data, Requester(holder, holder.lower().replace(" ", ".") + "@example.org")
