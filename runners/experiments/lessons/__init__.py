"""The notes' training lessons on digits, one module a lesson; the races use runners.templates.race."""
from gymlab.vision.data.flat_digits import digits  # noqa: F401
from gymlab.vision.nn.hparam_search import train_trial  # noqa: F401
