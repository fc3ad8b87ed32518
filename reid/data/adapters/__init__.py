"""Dataset adapters, one module each: a module registers its dataset's adapter and generated
style together (`reid.data.datasets.register_dataset(spec, style)`). Every module of this
package is imported here, so a new dataset is one new file (docs/extending.md).

Seen in the lifelong benchmark (trained in sequence): market1501, cuhksysu, dukemtmcreid,
msmt17, cuhk03. Unseen (zero-shot): viper, prid, grid, ilids, cuhk01, cuhk02, sensereid.
"""

import importlib
import pkgutil

from reid.data.generator.styles import style_adapters

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

LREID_SEEN = ("market1501", "cuhksysu", "dukemtmcreid", "msmt17", "cuhk03")
LREID_UNSEEN = ("viper", "prid", "grid", "ilids", "cuhk01", "cuhk02", "sensereid")
ORDERS = {
    1: ("market1501", "cuhksysu", "dukemtmcreid", "msmt17", "cuhk03"),
    2: ("dukemtmcreid", "msmt17", "market1501", "cuhksysu", "cuhk03"),
}

__all__ = ["LREID_SEEN", "LREID_UNSEEN", "ORDERS", "style_adapters"]
