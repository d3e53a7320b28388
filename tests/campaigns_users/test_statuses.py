"""CAM-3: every status transition is defined in one map (campaigns_users.statuses); a table
over every (action, status) pair proves each allowed one leads where the map says and each
other one is refused with a sentence."""

import pytest

from campaigns_users.statuses import TRANSITIONS, Status, transition
from crm_portal.exceptions import ActionRefused

S = Status
EXPECTED = {
    ("invite", S.DECLINED): S.INVITED,
    ("invite", S.EXPIRED): S.INVITED,
    ("invite", S.REMOVED): S.INVITED,
    ("resend", S.INVITED): S.INVITED,
    ("retarget", S.INVITED): S.INVITED,
    ("accept", S.INVITED): S.ASSOCIATED,
    ("decline", S.INVITED): S.DECLINED,
    ("expire", S.INVITED): S.EXPIRED,
    ("first_visit", S.ASSOCIATED): S.ACTIVE,
    ("deactivate", S.ASSOCIATED): S.DEACTIVATED,
    ("deactivate", S.ACTIVE): S.DEACTIVATED,
    ("reactivate", S.DEACTIVATED): S.ACTIVE,
    ("remove", S.INVITED): S.REMOVED,
    ("remove", S.ASSOCIATED): S.REMOVED,
    ("remove", S.ACTIVE): S.REMOVED,
    ("remove", S.DEACTIVATED): S.REMOVED,
    ("leave", S.ASSOCIATED): S.REMOVED,
    ("leave", S.ACTIVE): S.REMOVED,
    ("delete_account", S.ASSOCIATED): S.REMOVED,
    ("delete_account", S.ACTIVE): S.REMOVED,
}
EVERY_PAIR = [(action, status) for action in TRANSITIONS for status in Status.values]


def test_cam3_there_are_seven_statuses():
    assert len(Status.values) == 7


@pytest.mark.parametrize(("action", "status"), EVERY_PAIR)
def test_cam3_transition_table(action, status):
    """CAM-3: allowed transitions lead where the table says; all others are refused."""
    expected = EXPECTED.get((action, status))
    if expected is None:
        with pytest.raises(ActionRefused, match="can't be done while the member is"):
            transition(action, status)
    else:
        assert transition(action, status) == expected


def test_cam3_the_table_covers_every_action_of_the_map():
    assert {action for action, _status in EXPECTED} == set(TRANSITIONS)
