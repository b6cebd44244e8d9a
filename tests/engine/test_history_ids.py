"""History entry ids sort by time: the history lists entries by id, newest first."""

import datetime as dt

from deploy.common.history import new_entry_id


def test_entry_ids_keep_the_order_of_runs_within_one_second():
    second = dt.datetime(2026, 11, 26, 2, 14, 9, tzinfo=dt.timezone.utc)
    earlier = [new_entry_id(second + dt.timedelta(milliseconds=ms)) for ms in (1, 5, 120, 999)]
    for _ in range(20):  # the random suffix never reorders them
        ids = [new_entry_id(second + dt.timedelta(milliseconds=ms)) for ms in (1, 5, 120, 999)]
        assert ids == sorted(ids)
    assert earlier == sorted(earlier)
    assert earlier[0].startswith("20261126T021409001Z-")
    assert new_entry_id(second + dt.timedelta(seconds=1)) > earlier[-1]
