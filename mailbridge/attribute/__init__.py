"""Attribution: the roster of units and officers, and which unit a submission belongs to."""
