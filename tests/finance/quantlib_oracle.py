"""QuantLib set-up shared by the optional-oracle tests (QuantLib is optional)."""

import pytest


def bsm_process(spot, rate, dividend, vol):
    """QuantLib module, today's date and a flat Black–Scholes–Merton process."""
    ql = pytest.importorskip("QuantLib")
    today = ql.Date(1, 1, 2020)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()

    def flat(r):
        return ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))

    vol_ts = ql.BlackVolTermStructureHandle(
        ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc)
    )
    quote = ql.QuoteHandle(ql.SimpleQuote(spot))
    return (
        ql,
        today,
        ql.BlackScholesMertonProcess(quote, flat(dividend), flat(rate), vol_ts),
    )
