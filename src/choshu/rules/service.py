"""送達 (service of documents): 公示送達 (public notice).

* 地方税法20条の2第1項: where the address and residence of the person to be served are unknown (or
  service abroad is difficult), the 地方団体の長 may serve by public notice: the office keeps the
  document and posts on its notice board that it will hand it over at any time.
* 同条2項: service is deemed made when 7 days have elapsed counting from the day the posting began
  (掲示を始めた日から起算して7日を経過したとき). law.md §b (returned mail / 公示送達), glossary
  ``service_by_publication``; text: https://elaws.e-gov.go.jp/document?lawid=325AC0000000226 (Art. 20-2).

Counting as ``rules.dunning.dunning_payment_deadline`` does for "10 days elapsed from the issue date":
the posting day is day 1, the 7th day is ``posted_on + 6``, and the day on which 7 days *have elapsed*
is ``posted_on + 7`` — the day the document is deemed served. No closed-day shift: the period is not
a 期限 for a filing or a payment, which is what 法20条の5 moves (our reading; UNCONFIRMED).
"""

from __future__ import annotations

from datetime import date, timedelta

__all__ = ["PUBLIC_NOTICE_DAYS", "deemed_service_date"]

PUBLIC_NOTICE_DAYS = 7  # 法20条の2第2項


def deemed_service_date(posted_on: date, *, days: int = PUBLIC_NOTICE_DAYS) -> date:
    """The day a document served by public notice posted from ``posted_on`` is deemed served
    (法20条の2第2項): ``days`` (7) days have elapsed counting from the first day of posting."""
    if days <= 0:
        raise ValueError("the posting period must be positive")
    return posted_on + timedelta(days=days)
