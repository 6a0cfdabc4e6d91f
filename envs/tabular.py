"""The tabular model of the notes: an MDP (S, A, R, P, gamma) and a Markov reward process (S, P, R, gamma).

    P[s, a, s'] = Pr(s_{t+1} = s' | s_t = s, a_t = a)        transition probabilities
    R[s, a]     = E[r_{t+1} | s_t = s, a_t = a]             expected immediate reward
    V(s)   = R^pi(s) + gamma sum_s' P^pi(s, s') V(s')       the Bellman equation, V = R^pi + gamma P^pi V
    Q(s,a) = R(s, a) + gamma sum_s' P(s, a, s') V(s')

P is a dense NumPy array of shape (S, A, S), or, for large models, a ``scipy.sparse`` CSR array of
shape (S*A, S) whose row ``s*A + a`` is the distribution P[s, a, :]. Terminal states end an episode:
their value is 0 by definition (the solvers treat them as absorbing with zero reward; their rows of
P may hold anything that sums to 1, e.g. gymnasium's self-loops).

A policy is either deterministic, an int array (S,) of actions, or stochastic, an array (S, A) of
probabilities pi(a | s). It induces a Markov reward process with

    P^pi(s, s') = sum_a pi(a|s) P[s, a, s'],    R^pi(s) = sum_a pi(a|s) R[s, a].

Builders: :func:`from_gymnasium` (FrozenLake-v1, FrozenLake8x8-v1, CliffWalking-v1, Taxi-v4, and any
env whose ``unwrapped.P`` holds the table), :func:`random_mdp`, and ``envs.gridworld.gridworld``.
:class:`TabularEnv` turns a model back into a gymnasium env (for Q-learning on random MDPs and grids).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["TabularMDP", "MRP", "from_gymnasium", "random_mdp", "TabularEnv", "make_env", "GYMNASIUM_TABULAR",
           "TABULAR_ENVS", "mdp_by_name", "episode_limit", "env_by_name"]

GYMNASIUM_TABULAR = ("FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4")
TABULAR_ENVS = GYMNASIUM_TABULAR + ("random", "gridworld")  # the names mdp_by_name knows
DEFAULT_MAX_STEPS = {"random": 200, "gridworld": 1000, "CliffWalking-v1": 1000}  # where the env sets no step limit
_ATOL = 1e-6  # how far a row of P may be from summing to 1
# A dense P whose non-zeros are at most this fraction of its entries is backed up through a CSR copy (made on
# the first backup): a sparse matrix-vector product on (S*A, S) does work in proportion to the non-zeros, the
# dense one to all entries, so at low density CSR wins by far (benchmarks/bench_tabular.py measures it on
# dense input). 0.1 leaves a margin for the one-off conversion to CSR. Below
# SPARSE_MIN_ENTRIES both take microseconds.
SPARSE_DENSITY = 0.1
SPARSE_MIN_ENTRIES = 100_000


def _check_gamma(gamma) -> float:
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1] (and < 1 for the infinite-horizon solvers); got {gamma}")
    return gamma


def _check_mask(mask, S: int, what: str) -> np.ndarray:
    """A boolean mask (S,) from a mask or a list of state indices."""
    if mask is None:
        return np.zeros(S, dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype == bool:
        if mask.shape != (S,):
            raise ValueError(f"{what} must be a boolean mask of shape ({S},) or a list of states; got shape {mask.shape}")
        return mask.copy()
    if mask.ndim != 1 or (mask.size and not np.issubdtype(mask.dtype, np.integer)):
        raise ValueError(f"{what} must be a boolean mask of shape ({S},) or a list of state indices")
    out = np.zeros(S, dtype=bool)
    if mask.size:
        if mask.min() < 0 or mask.max() >= S:
            raise ValueError(f"{what} holds a state outside 0..{S - 1}: {mask[(mask < 0) | (mask >= S)][0]}")
        out[mask.astype(np.int64)] = True
    return out


def _check_distribution(p, S: int, what: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (S,):
        raise ValueError(f"{what} must have shape ({S},); got {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0 or abs(p.sum() - 1.0) > _ATOL:
        raise ValueError(f"{what} must be a probability distribution over the {S} states (>= 0, sums to 1); "
                         f"its sum is {p.sum():.6g}")
    return p


def _check_rows(P, S: int, A: int | None, name: str) -> None:
    """Probabilities >= 0 and rows that sum to 1; errors name the state (and action)."""
    def where(row):
        return f"{name}[s={row // A}, a={row % A}, :]" if A else f"{name}[s={row}, :]"

    if sp.issparse(P):
        data, sums = P.data, np.asarray(P.sum(axis=1)).ravel()
    else:
        flat = P.reshape(-1, P.shape[-1])
        data, sums = flat, flat.sum(axis=1)
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} has non-finite entries (NaN or inf)")
    if data.size and data.min() < 0:
        if not sp.issparse(P):
            row, col = np.unravel_index(np.argmin(data), data.shape)
        else:
            k = int(np.argmin(data))
            row, col = np.searchsorted(P.indptr, k, side="right") - 1, P.indices[k]
        raise ValueError(f"negative probability {data.min():.6g} at {where(int(row))[:-2]}s'={col}]; probabilities must be >= 0")
    bad = np.flatnonzero(np.abs(sums - 1.0) > _ATOL)
    if bad.size:
        row = int(bad[0])
        raise ValueError(f"{where(row)} sums to {sums[row]:.6g}, not 1 ({bad.size} such rows); "
                         "every row of the transition model must be a probability distribution")


def _as_csr(P) -> sp.csr_array:
    P = sp.csr_array(P, dtype=np.float64)
    P.sum_duplicates()
    P.sort_indices()
    return P


class MRP:
    """A Markov reward process (S, P, R, gamma): ``P`` (S, S) dense or sparse, ``R`` (S,) expected reward.

    Its value solves the Bellman equation V = R + gamma P V, i.e. V = (I - gamma P)^-1 R
    (``agents.evaluate_policy`` solves it; terminal states have V = 0).
    """

    def __init__(self, P, R, gamma: float, terminal=None, initial=None):
        R = np.asarray(R, dtype=np.float64)
        if R.ndim != 1:
            raise ValueError(f"R of an MRP must have shape (S,); got {R.shape}")
        S = R.shape[0]
        if sp.issparse(P):
            P = _as_csr(P)
        else:
            P = np.asarray(P, dtype=np.float64)
        if P.shape != (S, S):
            raise ValueError(f"P of an MRP must have shape (S, S) = ({S}, {S}) to match R; got {P.shape}")
        if not np.all(np.isfinite(R)):
            raise ValueError("R has non-finite entries (NaN or inf)")
        _check_rows(P, S, None, "P")
        self.P, self.R, self.gamma = P, R, _check_gamma(gamma)
        self.terminal = _check_mask(terminal, S, "terminal")
        self.initial = None if initial is None else _check_distribution(initial, S, "initial")

    @property
    def S(self) -> int:
        return self.R.shape[0]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.P)

    def __repr__(self):
        return f"MRP(S={self.S}, gamma={self.gamma}, {'sparse' if self.is_sparse else 'dense'}, terminal={int(self.terminal.sum())})"


class TabularMDP:
    """A finite MDP (S, A, R, P, gamma) with optional terminal states and start distribution.

    Args:
        P: dense (S, A, S) array, or sparse (S*A, S) with row s*A + a = P[s, a, :].
        R: (S, A) expected immediate rewards.
        gamma: discount in [0, 1] (value/policy iteration need gamma < 1).
        terminal: boolean mask (S,) or list of terminal states (value 0, the episode ends).
        initial: start distribution (S,); default uniform over non-terminal states.
        grid_shape: (rows, cols) when states are the cells of a grid, numbered row-major.
        name: a label (the gymnasium id for models read from gymnasium).
    """

    def __init__(self, P, R, gamma: float = 0.99, *, terminal=None, initial=None, grid_shape=None, name: str = ""):
        R = np.asarray(R, dtype=np.float64)
        if R.ndim != 2:
            raise ValueError(f"R must have shape (S, A); got {R.shape}")
        S, A = R.shape
        if sp.issparse(P):
            if P.shape != (S * A, S):
                raise ValueError(f"sparse P must have shape (S*A, S) = ({S * A}, {S}) to match R of shape {R.shape}; "
                                 f"got {P.shape}")
            P = _as_csr(P)
        else:
            P = np.ascontiguousarray(P, dtype=np.float64)
            if P.shape != (S, A, S):
                raise ValueError(f"P must have shape (S, A, S) = ({S}, {A}, {S}) to match R of shape {R.shape}; got {P.shape}")
        if not np.all(np.isfinite(R)):
            raise ValueError("R has non-finite entries (NaN or inf)")
        _check_rows(P, S, A, "P")
        self.P, self.R, self.gamma = P, R, _check_gamma(gamma)
        self.terminal = _check_mask(terminal, S, "terminal")
        if initial is None:
            live = ~self.terminal if (~self.terminal).any() else np.ones(S, dtype=bool)
            initial = live / live.sum()
        self.initial = _check_distribution(initial, S, "initial")
        if grid_shape is not None and int(np.prod(grid_shape)) != S:
            raise ValueError(f"grid_shape {tuple(grid_shape)} has {int(np.prod(grid_shape))} cells, not S = {S}")
        self.grid_shape = None if grid_shape is None else tuple(int(g) for g in grid_shape)
        self.name = name
        self._R0 = np.where(self.terminal[:, None], 0.0, R)  # terminal states earn nothing

    # ------------------------------------------------------------------ sizes
    @property
    def S(self) -> int:
        return self.R.shape[0]

    @property
    def A(self) -> int:
        return self.R.shape[1]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.P)

    @property
    def nnz(self) -> int:
        """Number of stored transition probabilities."""
        return int(self.P.nnz) if self.is_sparse else int(np.count_nonzero(self.P))

    def __repr__(self):
        kind = f"sparse, {self.nnz} non-zeros" if self.is_sparse else "dense"
        return (f"TabularMDP({self.name + ', ' if self.name else ''}S={self.S}, A={self.A}, gamma={self.gamma}, "
                f"{kind}, terminal={int(self.terminal.sum())})")

    def with_gamma(self, gamma: float) -> "TabularMDP":
        """The same model with another discount (shares P)."""
        out = object.__new__(TabularMDP)
        out.__dict__.update(self.__dict__)
        out.gamma = _check_gamma(gamma)
        return out

    # ------------------------------------------------------------- the model
    @property
    def backup_matrix(self):
        """P as the (S*A, S) matrix that the backups multiply by: CSR when P is sparse, or dense but with at
        most ``SPARSE_DENSITY`` non-zeros (counted once, converted on first use and kept: so the speed of
        value iteration does not depend on how the user built P; P itself stays as given and must not be
        modified in place afterwards), else P's dense (S*A, S) view."""
        op = self.__dict__.get("_backup_matrix")
        if op is None:
            S, A = self.R.shape
            if self.is_sparse:
                op = self.P
            else:
                flat = self.P.reshape(S * A, S)
                op = flat
                if flat.size >= SPARSE_MIN_ENTRIES and np.count_nonzero(flat) <= SPARSE_DENSITY * flat.size:
                    where = np.flatnonzero(flat)
                    rows, cols = np.divmod(where, S)
                    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=S * A))])
                    op = sp.csr_array((flat.ravel()[where], cols, indptr), shape=(S * A, S))
            self._backup_matrix = op
        return op

    def transition_matrix(self, a: int):
        """P^a, the (S, S) transition matrix of action a (dense or sparse like P)."""
        if self.is_sparse:
            return self.P[np.arange(self.S) * self.A + a]
        return self.P[:, a, :]

    def expected_next(self, V: np.ndarray) -> np.ndarray:
        """(S, A) array of sum_s' P[s, a, s'] V[s'], zero at terminal states."""
        S, A = self.R.shape
        PV = (self.backup_matrix @ V).reshape(S, A)
        if self.terminal.any():
            PV[self.terminal] = 0.0
        return PV

    def q_values(self, V: np.ndarray) -> np.ndarray:
        """Q(s, a) = R(s, a) + gamma sum_s' P(s, a, s') V(s') (zero at terminal states)."""
        return self._R0 + self.gamma * self.expected_next(V)

    def check_policy(self, policy) -> np.ndarray:
        """Validate a deterministic (S,) or stochastic (S, A) policy; return it as an array."""
        policy = np.asarray(policy)
        S, A = self.S, self.A
        if policy.shape == (S,):
            if not np.issubdtype(policy.dtype, np.integer):
                if not np.all(np.mod(policy, 1) == 0):
                    raise ValueError("a deterministic policy must hold integer actions")
                policy = policy.astype(np.int64)
            if policy.size and (policy.min() < 0 or policy.max() >= A):
                raise ValueError(f"a deterministic policy must hold actions in 0..{A - 1}; got {policy.min()}..{policy.max()}")
            return policy.astype(np.int64)
        if policy.shape == (S, A):
            policy = policy.astype(np.float64)
            if policy.min() < 0 or np.abs(policy.sum(axis=1) - 1).max() > _ATOL:
                s = int(np.argmax(np.abs(policy.sum(axis=1) - 1) + (policy.min(axis=1) < 0)))
                raise ValueError(f"a stochastic policy's row pi[s={s}, :] must be a distribution over the {A} actions")
            return policy
        raise ValueError(f"a policy must have shape ({S},) (actions) or ({S}, {A}) (probabilities); got {policy.shape}")

    def induced_mrp(self, policy) -> MRP:
        """The Markov reward process (P^pi, R^pi) that a policy induces."""
        policy = self.check_policy(policy)
        S, A = self.S, self.A
        op = self.backup_matrix  # CSR for a sparse P or a mostly-zero dense one: a sparse MRP
        if policy.ndim == 1:
            R = self.R[np.arange(S), policy]
            P = op[np.arange(S) * A + policy] if sp.issparse(op) else self.P[np.arange(S), policy]
        else:
            R = (policy * self.R).sum(axis=1)
            if sp.issparse(op):
                mix = sp.csr_array((policy.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A))
                P = mix @ op
            else:
                P = np.einsum("sa,sat->st", policy, self.P)
        return MRP(P, R, self.gamma, terminal=self.terminal, initial=self.initial)

    def to_dense(self) -> "TabularMDP":
        if not self.is_sparse:
            return self
        P = self.P.toarray().reshape(self.S, self.A, self.S)
        return TabularMDP(P, self.R, self.gamma, terminal=self.terminal, initial=self.initial,
                          grid_shape=self.grid_shape, name=self.name)

    def to_sparse(self) -> "TabularMDP":
        if self.is_sparse:
            return self
        P = sp.csr_array(self.P.reshape(self.S * self.A, self.S))
        return TabularMDP(P, self.R, self.gamma, terminal=self.terminal, initial=self.initial,
                          grid_shape=self.grid_shape, name=self.name)


# ---------------------------------------------------------------------- builders
def from_gymnasium(env_or_id, gamma: float = 0.99, *, sparse: bool | None = None, **make_kwargs) -> TabularMDP:
    """Read the model of a gymnasium toy-text env from ``env.unwrapped.P``.

    ``P[s][a]`` is a list of (probability, next_state, reward, terminated). A transition that
    terminates enters a terminal state of the model (value 0 afterwards). ``R[s, a]`` is the
    expected reward sum p r. Works for FrozenLake-v1, FrozenLake8x8-v1, CliffWalking-v1, Taxi-v4.
    """
    import gymnasium as gym

    if isinstance(env_or_id, str):
        try:
            env = gym.make(env_or_id, **make_kwargs)
        except gym.error.Error as e:
            raise ValueError(f"cannot make {env_or_id!r}: {' '.join(str(e).split())}; "
                             f"tabular envs: {', '.join(GYMNASIUM_TABULAR)}") from None
        name = env_or_id
    else:
        env = env_or_id
        name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    u = env.unwrapped
    table = getattr(u, "P", None)
    if not isinstance(table, dict) or not isinstance(env.observation_space, gym.spaces.Discrete) \
            or not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"{name} has no tabular model: it needs Discrete observation and action spaces and a "
                         f"transition table env.unwrapped.P (as in {', '.join(GYMNASIUM_TABULAR)})")
    S, A = int(env.observation_space.n), int(env.action_space.n)
    rows, cols, probs, rewards = [], [], [], np.zeros((S, A))
    done_into = np.zeros(S, dtype=bool)  # states entered by a terminating transition
    quiet_into = []  # (from, to) entered without termination
    for s in range(S):
        for a in range(A):
            for p, s2, r, done in table[s][a]:
                rows.append(s * A + a)
                cols.append(int(s2))
                probs.append(float(p))
                rewards[s, a] += float(p) * float(r)
                if done:
                    done_into[int(s2)] = True
                elif p > 0:
                    quiet_into.append((s, int(s2)))
    P = sp.csr_array((probs, (rows, cols)), shape=(S * A, S))
    initial = getattr(u, "initial_state_distrib", None)
    terminal = done_into.copy()
    # A state must be entered either always or never by termination, at least from where the
    # agent can be; states reachable from the start only through terminal states do not matter.
    reach = _reachable(P, S, A, np.flatnonzero(np.asarray(initial) > 0) if initial is not None else np.arange(S), terminal)
    for s, s2 in quiet_into:
        if reach[s] and not terminal[s] and terminal[s2]:
            raise ValueError(f"{name}: state {s2} is entered both with and without termination (e.g. from state {s}); "
                             "the tabular model cannot represent that")
    if sparse is None:
        sparse = S * A * S > 4_000_000
    grid = None
    desc = getattr(u, "desc", None)
    if desc is not None and np.asarray(desc).size == S:
        grid = np.asarray(desc).shape
    elif getattr(u, "shape", None) is not None and int(np.prod(u.shape)) == S:
        grid = tuple(u.shape)
    mdp = TabularMDP(P, rewards, gamma, terminal=terminal, initial=initial, grid_shape=grid, name=name)
    return mdp if sparse else mdp.to_dense()


def _reachable(P, S: int, A: int, starts, terminal) -> np.ndarray:
    """States reachable from ``starts`` without passing through a terminal state (breadth first)."""
    G = sp.csr_array((P.data > 0, P.indices, P.indptr), shape=P.shape)
    seen = np.zeros(S, dtype=bool)
    seen[starts] = True
    frontier = np.asarray(starts)
    while frontier.size:
        frontier = frontier[~terminal[frontier]]
        rows = (frontier[:, None] * A + np.arange(A)).ravel()
        nxt = np.unique(G[rows].indices) if rows.size else np.array([], dtype=np.int64)
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt
    return seen


def random_mdp(S: int, A: int, branching: int, seed: int = 0, *, gamma: float = 0.99,
               sparse: bool | None = None) -> TabularMDP:
    """A random MDP: each (s, a) moves to ``branching`` distinct states drawn uniformly, with
    probabilities from a flat Dirichlet; rewards R(s, a) ~ U[0, 1). Sparse by default when at
    most 10% of P is non-zero (10 successors at S = 1,000 is 99% zeros)."""
    if S < 1 or A < 1:
        raise ValueError(f"random_mdp needs S >= 1 and A >= 1; got S={S}, A={A}")
    if not 1 <= branching <= S:
        raise ValueError(f"branching must be in 1..S={S}; got {branching}")
    rng = np.random.default_rng(seed)
    n = S * A
    succ = np.sort(rng.integers(0, S, size=(n, branching)), axis=1)
    while True:  # redraw the rows that picked a state twice
        dup = (np.diff(succ, axis=1) == 0).any(axis=1) if branching > 1 else np.zeros(n, dtype=bool)
        if not dup.any():
            break
        if branching > S // 2:  # dense enough: draw without replacement directly
            succ[dup] = np.sort(np.stack([rng.choice(S, branching, replace=False) for _ in range(int(dup.sum()))]), axis=1)
        else:
            succ[dup] = np.sort(rng.integers(0, S, size=(int(dup.sum()), branching)), axis=1)
    probs = rng.exponential(size=(n, branching))
    probs /= probs.sum(axis=1, keepdims=True)
    R = rng.random((S, A))
    P = sp.csr_array((probs.ravel(), succ.ravel(), np.arange(0, n * branching + 1, branching)), shape=(n, S))
    if sparse is None:
        sparse = branching <= 0.1 * S
    mdp = TabularMDP(P, R, gamma, name=f"random-S{S}-A{A}-b{branching}-seed{seed}")
    return mdp if sparse else mdp.to_dense()


# ---------------------------------------------------------------------- simulator
try:
    import gymnasium as _gym

    _EnvBase = _gym.Env
except ImportError:  # pragma: no cover
    _gym, _EnvBase = None, object


class TabularEnv(_EnvBase):
    """A gymnasium env that samples a TabularMDP: reset draws s0 ~ initial, step draws
    s' ~ P[s, a, :] and pays R[s, a]; entering a terminal state terminates. Wrap it in
    ``gymnasium.wrappers.TimeLimit`` for models without terminal states (or use ``max_steps``
    with :func:`make_env`)."""

    metadata = {"render_modes": []}

    def __init__(self, mdp: TabularMDP):
        self.mdp = mdp
        self.observation_space = _gym.spaces.Discrete(mdp.S)
        self.action_space = _gym.spaces.Discrete(mdp.A)
        P = mdp.P if mdp.is_sparse else sp.csr_array(mdp.P.reshape(mdp.S * mdp.A, mdp.S))
        self._indptr, self._indices = P.indptr, P.indices
        # cumulative probabilities inside each row: sample with one uniform and a search
        cum = np.cumsum(P.data)
        base = np.concatenate([[0.0], cum])[P.indptr[:-1]]
        self._cum = cum - np.repeat(base, np.diff(P.indptr))
        self._init_cum = np.cumsum(mdp.initial)
        self._R = mdp.R
        self.s = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int(min(np.searchsorted(self._init_cum, self.np_random.random() * self._init_cum[-1], side="right"),
                         self.mdp.S - 1))
        return self.s, {}

    def step(self, action):
        s, a = self.s, int(action)
        row = s * self.mdp.A + a
        lo, hi = self._indptr[row], self._indptr[row + 1]
        k = lo + int(np.searchsorted(self._cum[lo:hi], self.np_random.random() * self._cum[hi - 1], side="right"))
        self.s = int(self._indices[min(k, hi - 1)])
        return self.s, float(self._R[s, a]), bool(self.mdp.terminal[self.s]), False, {}


def make_env(mdp: TabularMDP, max_steps: int | None = None):
    """TabularEnv(mdp), with a TimeLimit of ``max_steps`` when given."""
    env = TabularEnv(mdp)
    if max_steps:
        env = _gym.wrappers.TimeLimit(env, max_episode_steps=int(max_steps))
    return env


# ---------------------------------------------------------------------- by name
def mdp_by_name(name: str, gamma: float = 0.99, *, seed: int = 0, states: int = 1000, actions: int = 8,
                branching: int = 10, size: int = 10, slip: float = 0.1) -> TabularMDP:
    """The model ``name`` (TABULAR_ENVS) stands for: a gymnasium env's table (:func:`from_gymnasium`),
    ``random`` (:func:`random_mdp` with ``states``, ``actions``, ``branching``, ``seed``) or ``gridworld``
    (``size`` x ``size`` cells, ``slip``)."""
    if name == "random":
        return random_mdp(states, actions, branching, seed=seed, gamma=gamma)
    if name == "gridworld":
        from gymlab.envs.gridworld import gridworld

        return gridworld(size, slip=slip, gamma=gamma)
    return from_gymnasium(name, gamma=gamma)


def episode_limit(name: str, max_steps: int = 0) -> int:
    """``max_steps`` when given, else the gymnasium env's own limit (FrozenLake 100/200, Taxi 200), else
    DEFAULT_MAX_STEPS."""
    if max_steps:
        return int(max_steps)
    spec = _gym.spec(name) if name in GYMNASIUM_TABULAR else None
    return (spec.max_episode_steps if spec is not None else None) or DEFAULT_MAX_STEPS[name]


def env_by_name(name: str, mdp: TabularMDP, max_steps: int = 0):
    """An env to play ``name`` in, ending episodes at ``episode_limit(name, max_steps)``: the real gymnasium
    env where there is one, else a simulator of ``mdp`` (:func:`make_env`)."""
    limit = episode_limit(name, max_steps)
    return _gym.make(name, max_episode_steps=limit) if name in GYMNASIUM_TABULAR else make_env(mdp, limit)
