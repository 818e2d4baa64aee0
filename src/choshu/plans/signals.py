"""What other apps may listen to. ``cases`` (above this app) moves a case's stage when a plan is
pledged (分納中) or ends (不履行・取消 → 交渉中); this app never imports ``cases``.

``plan_status_changed`` is sent inside the transaction that changed the plans, once per service call
(``plans_check`` sends one for all its changes), with ``municipality_id``, ``changes`` — a list of
(taxpayer id, plan id, new status) — ``on`` (the business date) and ``actor`` (a user or None).
"""

from django.dispatch import Signal

plan_status_changed = Signal()
