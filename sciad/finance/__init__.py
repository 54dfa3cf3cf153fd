"""Differentiable option pricing: every Greek by AD, every parameter calibratable.

Closed forms (`bs_price`, `heston_price`, `barrier_price`,
`asian_geometric_price`), numerical pricers (`american_price`: tree, finite
differences, Longstaff–Schwartz), a Monte Carlo engine (models `GBM`, `Heston`
with full-truncation or QE steps, `LocalVol` with `dupire_local_vol`; payoffs
`European`, `Digital`, `AsianArithmetic`, `AsianGeometric`, `Barrier`; driver
`mc_price`), implied volatility with an implicit-function derivative rule, and
least-squares calibration. All pricers are pure JAX: jit, vmap and grad compose
freely.
"""

from ._american import american_price as american_price
from ._black_scholes import (
    Greeks as Greeks,
    bs_greeks as bs_greeks,
    bs_price as bs_price,
)
from ._calibration import (
    LeastSquaresFit as LeastSquaresFit,
    Quotes as Quotes,
    calibrate_least_squares as calibrate_least_squares,
)
from ._dupire import dupire_local_vol as dupire_local_vol
from ._exotics import (
    asian_geometric_price as asian_geometric_price,
    barrier_price as barrier_price,
)
from ._heston import heston_price as heston_price
from ._implied_vol import implied_vol as implied_vol
from ._models import (
    GBM as GBM,
    AbstractModel as AbstractModel,
    Heston as Heston,
    LocalVol as LocalVol,
    LogStep as LogStep,
)
from ._monte_carlo import MCResult as MCResult, mc_price as mc_price
from ._payoffs import (
    AbstractPayoff as AbstractPayoff,
    AsianArithmetic as AsianArithmetic,
    AsianGeometric as AsianGeometric,
    Barrier as Barrier,
    Digital as Digital,
    European as European,
)
