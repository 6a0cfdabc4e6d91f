"""The notes' training lessons on digits, one module a lesson; the races use runners.templates.race and
take `data=mnist` too (784-pixel rows)."""
from gymlab.vision.data.flat_digits import digits  # noqa: F401
from gymlab.vision.nn.hparam_search import train_trial  # noqa: F401
