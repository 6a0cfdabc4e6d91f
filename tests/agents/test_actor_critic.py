"""A2C: GAE against direct n-step/TD formulas, the critic converges to the exact V^pi on a tabular MDP,
and the agent learns CartPole."""
import gymnasium as gym
import numpy as np
import torch

from gymlab.agents.actor_critic import A2C
from gymlab.agents.buffers import gae
from gymlab.testing import assert_solves

S, A, GAMMA, P_END = 4, 2, 0.9, 0.25
rng = np.random.default_rng(0)
P = rng.dirichlet(np.ones(S), size=(S, A)) * (1 - P_END)  # P[s, a, s'] between non-terminal states
R = rng.uniform(-1, 1, size=(S, A))  # deterministic reward r(s, a); with prob P_END the episode ends


class SmallMDP(gym.Env):
    observation_space = gym.spaces.Discrete(S)  # one-hot encoded by the agent's encoder
    action_space = gym.spaces.Discrete(A)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int(self.np_random.integers(S))
        return self.s, {}

    def step(self, a):
        r = R[self.s, a]
        p = np.append(P[self.s, a], P_END)
        nxt = int(self.np_random.choice(S + 1, p=p / p.sum()))
        if nxt == S:
            return self.s, r, True, False, {}
        self.s = nxt
        return nxt, r, False, False, {}


def test_critic_converges_to_exact_v_pi():
    agent = A2C(SmallMDP, seed=0, n_envs=32, n_steps=8, net_arch=[], ent_coef=0.0, gamma=GAMMA, gae_lambda=1.0,
                optimizer="adam", lr=0.05, lr_schedule="linear", max_grad_norm=0.0)
    agent.policy.pi_head.requires_grad_(False)  # a fixed policy pi; only the critic learns
    with torch.no_grad():
        agent.policy.pi_head.linear.weight.copy_(torch.randn(A, S, generator=torch.Generator().manual_seed(1)))
        onehot = torch.arange(S)
        pi = agent.policy.dist(onehot).probs.numpy()  # pi(a|s)
    agent.learn(40_000)
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = (pi * R).sum(1)
    v_exact = np.linalg.solve(np.eye(S) - GAMMA * P_pi, r_pi)  # V = r_pi + gamma P_pi V
    with torch.no_grad():
        v = agent.policy.value(onehot).numpy()
    np.testing.assert_allclose(v, v_exact, atol=0.05 * np.abs(v_exact).max())
    assert np.abs(v_exact).max() > 0.5


def test_gae_lambda_one_is_the_n_step_return_and_zero_the_td_error():
    T, N, g = 5, 3, 0.9
    torch.manual_seed(0)
    r, v, last = torch.randn(T, N), torch.randn(T, N), torch.randn(N)
    term = torch.zeros(T, N, dtype=torch.bool)
    term[2, 1] = True  # env 1 terminates at t=2 (then its reset step at t=3)
    done = term.clone()
    adv1, ret1 = gae(r, v, last, term, done, g, 1.0)
    # env 0: no episode end, R_0 = sum_t g^t r_t + g^T V(s_T)
    expect = sum(g ** t * r[t, 0] for t in range(T)) + g ** T * last[0]
    torch.testing.assert_close(ret1[0, 0], expect)
    # env 1: the episode ends at t=2 without bootstrapping
    torch.testing.assert_close(ret1[0, 1], r[0, 1] + g * r[1, 1] + g ** 2 * r[2, 1])
    adv0, _ = gae(r, v, last, term, done, g, 0.0)
    nxt = torch.cat([v[1:], last[None]])
    torch.testing.assert_close(adv0, r + g * nxt * (~term) - v)


def test_truncation_bootstraps_from_the_final_observation():
    r, v = torch.ones(2, 1), torch.tensor([[1.0], [5.0]])  # v[1] is V(final observation) of a truncated episode
    trunc_done = torch.tensor([[True], [False]])
    _, ret = gae(r, v, torch.zeros(1), torch.zeros(2, 1, dtype=torch.bool), trunc_done, 0.5, 1.0)
    assert ret[0, 0].item() == 1 + 0.5 * 5  # truncated: r + gamma V(s_final)
    _, ret = gae(r, v, torch.zeros(1), trunc_done, trunc_done, 0.5, 1.0)
    assert ret[0, 0].item() == 1  # terminated: r only


def test_a2c_learns_cartpole():
    agent = A2C("CartPole-v1", seed=0)  # gymlab's defaults: 8 envs x 16 steps
    agent.learn(20_000)
    assert_solves(agent, "CartPole-v1", threshold=150, episodes=10)  # the 95% CI's lower bound; random: about 22
