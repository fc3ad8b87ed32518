"""The lifelong re-ID (LReID) datasets: one module per dataset registers its adapter (into
`reid.data.datasets.DATASETS`) and its generated style (into `generate_domain`).

Seen (trained in sequence): market1501, dukemtmcreid, msmt17 (datasets.py), cuhksysu, cuhk03.
Unseen (zero-shot): viper, prid, grid, ilids, cuhk01, cuhk02, sensereid (test only).
"""

from reid.data.adapters import (  # noqa: F401  (imported to register)
    cuhk01,
    cuhk02,
    cuhk03,
    cuhksysu,
    grid,
    ilids,
    prid,
    sensereid,
    viper,
)
from reid.data.adapters.style import style_adapters

LREID_SEEN = ("market1501", "cuhksysu", "dukemtmcreid", "msmt17", "cuhk03")
LREID_UNSEEN = ("viper", "prid", "grid", "ilids", "cuhk01", "cuhk02", "sensereid")
ORDERS = {
    1: ("market1501", "cuhksysu", "dukemtmcreid", "msmt17", "cuhk03"),
    2: ("dukemtmcreid", "msmt17", "market1501", "cuhksysu", "cuhk03"),
}

__all__ = ["LREID_SEEN", "LREID_UNSEEN", "ORDERS", "style_adapters"]
