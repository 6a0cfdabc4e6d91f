"""Backpropagation by hand: a small computational-graph engine on scalars and NumPy arrays.

Each ``Node`` holds a value (a float64 NumPy array; a scalar is a 0-d array), the nodes it was
computed from, and a rule that says how to turn the gradient arriving from above (the *upstream*
gradient dL/d(out)) into the gradients of its inputs. That rule is the node's *local* gradient
times the upstream one -- the chain rule, one gate at a time, as the notes draw it:

    dL/dx = (d out / dx) * dL/d(out)          local * upstream

``backward()`` walks the graph in reverse topological order starting from dL/dL = 1, and each
input *adds* what it receives, so a value used in two places (a branch) gets the sum of the
gradients that flow back along both paths.

The notes' examples, runnable with this file:

    f(x, y, z) = (x + y) z       q = x + y:  df/dx = df/dy = z,  df/dz = q
    sigma(w0 x0 + w1 x1 + w2)    the sigmoid gate: d sigma / dx = (1 - sigma(x)) sigma(x)
    f(W, x) = ||W x||^2          q = W x:  grad_W = 2 q x^T,  grad_x = 2 W^T q

and ``TwoLayerNet``, a ReLU network whose forward pass is built out of these nodes and trained by
SGD on the gradients that ``backward()`` returns (``train``: minibatch ``step`` of the seeded shuffle
of vision.data.batching, so that training can stop and resume anywhere).
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np


def _as_array(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: a value broadcast to many places gets the sum of their gradients."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Node:
    """One value in the graph and the recipe for sending gradients back to its inputs.

    ``Node(value)`` makes a leaf (an input or a parameter). Operations (``+ - * / @ **``, and the
    methods below) make new nodes. After ``loss.backward()`` every node's ``.grad`` is dL/d(node).
    """

    def __init__(self, value, parents: tuple = (), op: str = "", name: str = ""):
        self.value = _as_array(value)
        self.grad: np.ndarray | None = None  # dL/d(this node), set by backward()
        self.parents = parents
        self.op = op
        self.name = name
        # backward rule: upstream gradient -> one gradient per parent (local * upstream)
        self._local: Callable[[np.ndarray], tuple] = lambda g: ()

    # ------------------------------------------------------------------ plumbing
    @property
    def shape(self) -> tuple:
        return self.value.shape

    def __repr__(self) -> str:
        label = self.name or self.op or "leaf"
        return f"Node({label}, value={self.value!r})"

    @staticmethod
    def wrap(x) -> "Node":
        return x if isinstance(x, Node) else Node(x, name="const")

    def backward(self, grad=None) -> None:
        """Backpropagate from this node: set its gradient to ``grad`` (1 for a scalar) and let every
        node upstream receive local * upstream, summed over the paths that reach it."""
        order, seen = [], set()

        def visit(n: Node) -> None:  # topological order (iterative: deep graphs are fine)
            stack = [(n, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    order.append(node)
                    continue
                if id(node) in seen:
                    continue
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents if id(p) not in seen)

        visit(self)
        if grad is None:
            if self.value.size != 1:
                raise ValueError(f"backward() of a non-scalar node of shape {self.shape} needs grad=")
            grad = np.ones_like(self.value)
        for n in order:
            n.grad = None
        self.grad = _as_array(grad).reshape(self.shape).copy()
        for n in reversed(order):  # every node is done before its parents: its gradient is complete
            for p, g in zip(n.parents, n._local(n.grad)):
                p.grad = g if p.grad is None else p.grad + g  # gradients add at branches

    # ------------------------------------------------------------------ arithmetic gates
    def __add__(self, other) -> "Node":
        """Add gate: distributes the upstream gradient unchanged to both inputs (local gradient 1)."""
        other = Node.wrap(other)
        out = Node(self.value + other.value, (self, other), "+")
        out._local = lambda g: (_unbroadcast(g, self.shape), _unbroadcast(g, other.shape))
        return out

    __radd__ = __add__

    def __neg__(self) -> "Node":
        out = Node(-self.value, (self,), "neg")
        out._local = lambda g: (-g,)
        return out

    def __sub__(self, other) -> "Node":
        return self + (-Node.wrap(other))

    def __rsub__(self, other) -> "Node":
        return Node.wrap(other) + (-self)

    def __mul__(self, other) -> "Node":
        """Multiply gate: swaps its inputs -- d(xy)/dx = y, d(xy)/dy = x."""
        other = Node.wrap(other)
        out = Node(self.value * other.value, (self, other), "*")
        out._local = lambda g: (_unbroadcast(g * other.value, self.shape), _unbroadcast(g * self.value, other.shape))
        return out

    __rmul__ = __mul__

    def __truediv__(self, other) -> "Node":
        return self * Node.wrap(other) ** -1

    def __rtruediv__(self, other) -> "Node":
        return Node.wrap(other) * self ** -1

    def __pow__(self, k: float) -> "Node":
        """x^k, local gradient k x^(k-1) (k a constant)."""
        if isinstance(k, Node):
            raise TypeError("Node ** Node is not supported; the exponent must be a number")
        out = Node(self.value ** k, (self,), f"**{k}")
        out._local = lambda g: (g * k * self.value ** (k - 1),)
        return out

    def __matmul__(self, other) -> "Node":
        """Matrix multiply q = A B: dA = dq B^T, dB = A^T dq (the shapes say which way round)."""
        other = Node.wrap(other)
        a, b = self.value, other.value
        out = Node(a @ b, (self, other), "@")

        def local(g):
            if a.ndim == 1 and b.ndim == 1:  # dot product
                return g * b, g * a
            if b.ndim == 1:  # matrix-vector: q = A x
                return np.outer(g, b), a.T @ g
            if a.ndim == 1:  # vector-matrix: q = x A
                return b @ g, np.outer(a, g)
            return g @ b.T, a.T @ g

        out._local = local
        return out

    # ------------------------------------------------------------------ elementwise gates
    def exp(self) -> "Node":
        e = np.exp(self.value)
        out = Node(e, (self,), "exp")
        out._local = lambda g: (g * e,)  # d e^x / dx = e^x
        return out

    def log(self) -> "Node":
        out = Node(np.log(self.value), (self,), "log")
        out._local = lambda g: (g / self.value,)
        return out

    def sigmoid(self) -> "Node":
        """The sigmoid gate as one node: d sigma/dx = (1 - sigma) sigma, from the forward value alone."""
        s = 1.0 / (1.0 + np.exp(-self.value))
        out = Node(s, (self,), "sigmoid")
        out._local = lambda g: (g * (1.0 - s) * s,)
        return out

    def tanh(self) -> "Node":
        t = np.tanh(self.value)
        out = Node(t, (self,), "tanh")
        out._local = lambda g: (g * (1.0 - t * t),)
        return out

    def relu(self) -> "Node":
        """max(0, x): routes the gradient to inputs that were positive, zero elsewhere."""
        out = Node(np.maximum(self.value, 0.0), (self,), "relu")
        out._local = lambda g: (g * (self.value > 0),)
        return out

    def maximum(self, other) -> "Node":
        """Max gate: the gradient goes to the larger input only (the 'gradient router')."""
        other = Node.wrap(other)
        pick = self.value >= other.value
        out = Node(np.where(pick, self.value, other.value), (self, other), "max")
        out._local = lambda g: (_unbroadcast(g * pick, self.shape), _unbroadcast(g * ~pick, other.shape))
        return out

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims: bool = False) -> "Node":
        """Sum: every summed element gets the upstream gradient (broadcast back to the input's shape)."""
        out = Node(self.value.sum(axis=axis, keepdims=keepdims), (self,), "sum")

        def local(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, self.shape).copy(),)

        out._local = local
        return out

    def mean(self, axis=None) -> "Node":
        n = self.value.size if axis is None else self.value.shape[axis]
        return self.sum(axis=axis) * (1.0 / n)


# ---------------------------------------------------------------------------- composite gates
def sigmoid_by_parts(x: Node) -> Node:
    """The notes' sigmoid circuit 1 / (1 + e^{-x}) as four primitive gates (neg, exp, +1, 1/x);
    backprop through them gives the same gradient as the one-node shortcut (1 - sigma) sigma."""
    return 1.0 / (1.0 + (-x).exp())


def softmax_cross_entropy(scores: Node, y: np.ndarray) -> Node:
    """Mean softmax cross-entropy of class scores (N, C) against labels y (N,), as one node.

    L = -1/N sum_i log softmax(s_i)[y_i], with the local gradient written out: dL/ds = (P - Y) / N.
    """
    s = scores.value
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    shifted = s - s.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    out = Node(-logp[np.arange(n), y].mean(), (scores,), "softmax_ce")

    def local(g):
        d = np.exp(logp)
        d[np.arange(n), y] -= 1.0
        return (g * d / n,)

    out._local = local
    return out


# ---------------------------------------------------------------------------- the notes' examples
def example_add_mul(x: float = -2.0, y: float = 5.0, z: float = -4.0) -> dict:
    """f(x, y, z) = (x + y) z. At (-2, 5, -4): f = -12, df/dx = df/dy = -4, df/dz = 3."""
    xn, yn, zn = Node(x, name="x"), Node(y, name="y"), Node(z, name="z")
    q = xn + yn
    f = q * zn
    f.backward()
    return {"f": float(f.value), "dx": float(xn.grad), "dy": float(yn.grad), "dz": float(zn.grad)}


def example_sigmoid_neuron(w=(2.0, -3.0, -3.0), x=(-1.0, -2.0), by_parts: bool = False) -> dict:
    """f = sigma(w0 x0 + w1 x1 + w2). At the notes' values f = 0.73 and dw = [-0.2, -0.39, 0.2],
    dx = [0.39, -0.59]; ``by_parts`` builds sigma from primitive gates instead of the one-node shortcut."""
    wn = [Node(v, name=f"w{i}") for i, v in enumerate(w)]
    xn = [Node(v, name=f"x{i}") for i, v in enumerate(x)]
    dot = wn[0] * xn[0] + wn[1] * xn[1] + wn[2]
    f = sigmoid_by_parts(dot) if by_parts else dot.sigmoid()
    f.backward()
    return {"f": float(f.value), "dw": [float(n.grad) for n in wn], "dx": [float(n.grad) for n in xn]}


def example_norm_wx(W: np.ndarray, x: np.ndarray) -> dict:
    """f = ||W x||^2 with q = W x: grad_W = 2 q x^T and grad_x = 2 W^T q."""
    Wn, xn = Node(W, name="W"), Node(x, name="x")
    q = Wn @ xn
    f = (q * q).sum()
    f.backward()
    return {"f": float(f.value), "q": q.value, "dW": Wn.grad, "dx": xn.grad}


# ---------------------------------------------------------------------------- a two-layer network
class TwoLayerNet:
    """scores = relu(X W1 + b1) W2 + b2, softmax cross-entropy plus reg * (||W1||^2 + ||W2||^2),
    with every gradient from the graph engine above (no autograd)."""

    def __init__(self, dim: int, hidden: int, classes: int, rng: np.random.Generator, scale: float | None = None):
        s1 = scale if scale is not None else np.sqrt(2.0 / dim)  # He init for the ReLU layer
        s2 = scale if scale is not None else 0.01  # small output weights: equal scores, initial loss log C
        self.params = {
            "W1": s1 * rng.standard_normal((dim, hidden)), "b1": np.zeros(hidden),
            "W2": s2 * rng.standard_normal((hidden, classes)), "b2": np.zeros(classes),
        }

    def scores(self, X: np.ndarray) -> np.ndarray:
        h = np.maximum(X @ self.params["W1"] + self.params["b1"], 0)
        return h @ self.params["W2"] + self.params["b2"]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.scores(X).argmax(axis=1)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == y).mean())

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, reg: float = 0.0) -> tuple[float, dict]:
        """Build the graph for one batch, call backward(), return the loss and dL/d(each parameter)."""
        p = {k: Node(v, name=k) for k, v in self.params.items()}
        h = (Node(X, name="X") @ p["W1"] + p["b1"]).relu()
        scores = h @ p["W2"] + p["b2"]
        loss = softmax_cross_entropy(scores, y)
        if reg:
            loss = loss + reg * ((p["W1"] * p["W1"]).sum() + (p["W2"] * p["W2"]).sum())
        loss.backward()
        return float(loss.value), {k: n.grad for k, n in p.items()}

    def sgd_step(self, X: np.ndarray, y: np.ndarray, lr: float, reg: float = 0.0) -> float:
        loss, grads = self.loss_and_grads(X, y, reg)
        for k in self.params:
            self.params[k] -= lr * grads[k]
        return loss


def train(net: TwoLayerNet, X: np.ndarray, y: np.ndarray, steps: int, lr: float, reg: float = 0.0,
          batch_size: int = 64, seed: int = 0, start: int = 0) -> list[float]:
    """SGD on minibatches ``start .. start + steps - 1`` of the seeded shuffle; the losses, one a step."""
    from gymlab.vision.data.batching import batch_indices

    return [net.sgd_step(X[i], y[i], lr, reg) for i in
            (batch_indices(seed, step, len(y), batch_size).numpy() for step in range(start, start + steps))]


def notes_examples() -> list[dict]:
    """The notes' worked examples as the engine computes them: one row each (example, f, gradients)."""
    e1, e2, e3 = example_add_mul(), example_sigmoid_neuron(), example_sigmoid_neuron(by_parts=True)
    e4 = example_norm_wx(np.array([[0.1, 0.5], [-0.3, 0.8]]), np.array([0.2, 0.4]))
    r = lambda v: np.round(v, 3).tolist()  # noqa: E731
    return [
        {"example": "f=(x+y)z at (-2,5,-4)", "f": e1["f"], "gradients": f"dx={e1['dx']:g} dy={e1['dy']:g} dz={e1['dz']:g}"},
        {"example": "sigmoid gate (1-s)s", "f": e2["f"], "gradients": f"dw={r(e2['dw'])} dx={r(e2['dx'])}"},
        {"example": "sigmoid by primitive gates", "f": e3["f"], "gradients": f"dw={r(e3['dw'])} dx={r(e3['dx'])}"},
        {"example": "||Wx||^2, grad_W = 2 q x^T", "f": e4["f"], "gradients": f"dW={r(e4['dW'])}"},
    ]


def torch_loss(params: dict, X, y):
    """The same network's loss (without the L2 term) in torch, for autograd-based checks: ``params``
    holds W1, b1, W2, b2 as tensors."""
    import torch
    import torch.nn.functional as F

    return F.cross_entropy(torch.relu(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"], y)


def training_figures(net: TwoLayerNet, losses: list, side: int = 8, units: int = 16):
    """The loss curve, and the first ``units`` first-layer weight vectors as side x side images."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(losses, lw=0.8)
    ax.set(xlabel="step", ylabel="loss", title="two-layer net, gradients by the graph engine")
    fig2, axes = plt.subplots(2, units // 2, figsize=(units / 2, 2.2))
    for k, a in enumerate(axes.flat):
        a.imshow(net.params["W1"][:, k].reshape(side, side), cmap="RdBu_r")
        a.axis("off")
    fig2.suptitle(f"first-layer weights ({units} hidden units)")
    return fig, fig2


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred differences (f(x + h e_i) - f(x - h e_i)) / 2h for every entry of x (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def leaves(node: Node) -> Iterable[Node]:
    """The leaves (inputs and parameters) a node depends on, for drawing or inspecting a graph."""
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if not n.parents:
            yield n
        stack.extend(n.parents)
