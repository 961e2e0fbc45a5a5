#!/usr/bin/env python3
"""Reference trajectories from Optax for gradus-optim's methods from Optax.

Writes crates/optim/tests/data/optax.txt in the format of the PyTorch
trajectories (scripts/reference_data.py): each configuration on fixed
random gradients and on the five test functions, 30 steps, in float64
(`jax_enable_x64`). Optax runs eagerly (no `jit`), one array operation at
a time, so nothing is fused or reordered. The keys are gradus's (PyTorch's
names where PyTorch has the concept: `lr`, `betas`, `weight_decay`), mapped
to Optax's arguments below. Run by hand (`python3 scripts/optax_reference.py`
with jax and optax installed); the tests read the file and never need
Python.
"""
import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
import optax.contrib  # noqa: E402

from reference_data import FUNCTIONS, Out, Uniform, spec_of  # noqa: E402

STEPS = 30
draw = Uniform(17, -2.0, 2.0)
fixed = [[draw.rng.uniform(-2, 2) for _ in range(5)] for _ in range(STEPS)]
start5 = [draw.rng.uniform(-1, 1) for _ in range(5)]

# gradus's spec name -> the Optax optimiser from gradus's keys.
OPTAX = {
    "lion": lambda lr, betas=(0.9, 0.99), weight_decay=1e-3: optax.lion(
        lr, b1=betas[0], b2=betas[1], weight_decay=weight_decay
    ),
    "signum": lambda lr, momentum=0.9: optax.signum(lr, beta=momentum),
    "yogi": lambda lr, betas=(0.9, 0.999), eps=1e-3: optax.yogi(lr, b1=betas[0], b2=betas[1], eps=eps),
    "adabelief": lambda lr, betas=(0.9, 0.999), eps=1e-16, eps_root=1e-16: optax.adabelief(
        lr, b1=betas[0], b2=betas[1], eps=eps, eps_root=eps_root
    ),
    "lamb": lambda lr, betas=(0.9, 0.999), eps=1e-6, eps_root=0.0, weight_decay=0.0: optax.lamb(
        lr, b1=betas[0], b2=betas[1], eps=eps, eps_root=eps_root, weight_decay=weight_decay
    ),
    "lars": lambda lr, momentum=0.9, weight_decay=0.0, trust_coefficient=0.001, eps=0.0, nesterov=False: optax.lars(
        lr, weight_decay=weight_decay, trust_coefficient=trust_coefficient, eps=eps, momentum=momentum, nesterov=nesterov
    ),
    "adan": lambda lr, betas=(0.98, 0.92, 0.99), eps=1e-8, eps_root=1e-8, weight_decay=0.0: optax.adan(
        lr, b1=betas[0], b2=betas[1], b3=betas[2], eps=eps, eps_root=eps_root, weight_decay=weight_decay
    ),
    "novograd": lambda lr, betas=(0.9, 0.25), eps=1e-6, eps_root=0.0, weight_decay=0.0: optax.novograd(
        lr, b1=betas[0], b2=betas[1], eps=eps, eps_root=eps_root, weight_decay=weight_decay
    ),
    "adopt": lambda lr, betas=(0.9, 0.9999), eps=1e-6, nesterov=False, use_clipping=True: optax.contrib.adopt(
        lr, b1=betas[0], b2=betas[1], eps=eps, nesterov=nesterov, use_clipping=use_clipping
    ),
    "ademamix": lambda lr, betas=(0.9, 0.999, 0.9999), alpha=5.0, eps=1e-8, eps_root=0.0, weight_decay=0.0: optax.contrib.ademamix(
        lr, b1=betas[0], b2=betas[1], b3=betas[2], alpha=alpha, eps=eps, eps_root=eps_root, weight_decay=weight_decay
    ),
    # warmup_steps=0 is no warm-up in gradus; Optax's is None (its 0 would
    # be a rate of 0 throughout).
    "schedule_free_sgd": lambda lr=1.0, momentum=0.9, warmup_steps=0, weight_decay=0.0: optax.contrib.schedule_free_sgd(
        lr, warmup_steps=warmup_steps or None, b1=momentum, weight_decay=weight_decay
    ),
    "schedule_free_adamw": lambda lr=2.5e-3, betas=(0.9, 0.999), eps=1e-8, warmup_steps=0, weight_decay=0.0: optax.contrib.schedule_free_adamw(
        lr, warmup_steps=warmup_steps or None, b1=betas[0], b2=betas[1], eps=eps, weight_decay=weight_decay
    ),
    "prodigy": lambda lr=1.0, betas=(0.9, 0.999), eps=1e-8, d0=1e-6, d_coef=1.0, weight_decay=0.0: optax.contrib.prodigy(
        lr, betas=betas, eps=eps, estim_lr0=d0, estim_lr_coef=d_coef, weight_decay=weight_decay
    ),
}
CONFIGS = [
    ("lion", "lion", {}),
    ("lion_betas_decay", "lion", dict(betas=(0.8, 0.95), weight_decay=0.1)),
    ("lion_no_decay", "lion", dict(weight_decay=0.0)),
    ("signum", "signum", {}),
    ("signum_sign_sgd", "signum", dict(momentum=0.0)),
    ("yogi", "yogi", {}),
    ("yogi_betas_eps", "yogi", dict(betas=(0.8, 0.99), eps=1e-6)),
    ("adabelief", "adabelief", {}),
    ("adabelief_paper_eps", "adabelief", dict(betas=(0.85, 0.99), eps=1e-8, eps_root=0.0)),
    ("lamb", "lamb", {}),
    ("lamb_decay", "lamb", dict(betas=(0.8, 0.99), eps=1e-8, eps_root=1e-10, weight_decay=0.01)),
    ("lars", "lars", {}),
    ("lars_nesterov_decay", "lars", dict(momentum=0.5, weight_decay=0.01, trust_coefficient=0.1, eps=1e-8, nesterov=True)),
    ("adan", "adan", {}),
    ("adan_betas_decay", "adan", dict(betas=(0.9, 0.9, 0.95), eps=1e-6, eps_root=0.0, weight_decay=0.02)),
    ("novograd", "novograd", {}),
    ("novograd_decay", "novograd", dict(betas=(0.8, 0.5), eps=1e-8, eps_root=1e-10, weight_decay=0.01)),
    ("adopt", "adopt", {}),
    ("adopt_nesterov", "adopt", dict(betas=(0.8, 0.99), eps=1e-8, nesterov=True)),
    ("adopt_unclipped", "adopt", dict(use_clipping=False)),
    ("ademamix", "ademamix", {}),
    ("ademamix_decay", "ademamix", dict(betas=(0.8, 0.99, 0.995), alpha=2.0, eps=1e-6, eps_root=1e-10, weight_decay=0.01)),
    ("schedule_free_sgd", "schedule_free_sgd", {}),
    ("schedule_free_sgd_warmup", "schedule_free_sgd", dict(momentum=0.8, warmup_steps=5, weight_decay=0.01)),
    ("schedule_free_adamw", "schedule_free_adamw", {}),
    ("schedule_free_adamw_warmup", "schedule_free_adamw", dict(betas=(0.95, 0.99), eps=1e-6, warmup_steps=4, weight_decay=0.02)),
    ("prodigy", "prodigy", {}),
    ("prodigy_decay", "prodigy", dict(betas=(0.8, 0.99), eps=1e-6, d0=1e-4, d_coef=0.5, weight_decay=0.05)),
]
out = Out("optax_reference.py", f"optax {optax.__version__} and jax {jax.__version__}")


def run(case, spec, opt, function, start, grad_of, lookahead=False, split=None):
    """One trajectory: `opt` from `start`, the parameters (a lookahead's fast
    weights) after each step. With `split`, the vector is several
    parameters of those lengths, stepped together (a tree of arrays)."""
    params = jnp.asarray(start, dtype=jnp.float64)
    shown = lambda p: p  # noqa: E731
    if split:
        cuts = [sum(split[:i]) for i in range(len(split) + 1)]
        params = {f"p{i}": params[cuts[i]:cuts[i + 1]] for i in range(len(split))}
        shown = lambda p: jnp.concatenate([p[f"p{i}"] for i in range(len(split))])  # noqa: E731
    if lookahead:
        params = optax.LookaheadParams.init_synced(params)
        shown = (lambda p: p.fast)
    state = opt.init(params)
    traj, grads, evals = [], [], []
    for t in range(STEPS):
        g = grad_of(t, [float(v) for v in shown(params)])
        grads.extend(g)
        g = jnp.asarray(g, dtype=jnp.float64)
        if split:
            g = {f"p{i}": g[cuts[i]:cuts[i + 1]] for i in range(len(split))}
        updates, state = opt.update(g, state, params)
        params = optax.apply_updates(params, updates)
        traj.extend(float(v) for v in shown(params))
        if spec.startswith("schedule_free"):
            evals.extend(float(v) for v in optax.contrib.schedule_free_eval_params(state, params))
    out.lines.append(f"case {case} {function} {spec}")
    if split:
        out.lines.append(f"split {case} " + ",".join(str(n) for n in split))
    out.lines.append(f"start {case} " + " ".join(repr(float(v)) for v in start))
    if function == "fixed":
        out.lines.append(f"grads {case} " + " ".join(repr(float(v)) for v in grads))
    out.lines.append(f"traj {case} " + " ".join(repr(float(v)) for v in traj))
    if evals:
        out.lines.append(f"eval {case} " + " ".join(repr(v) for v in evals))


for case, name, kw in CONFIGS:
    kw = dict(kw, lr=0.01)
    run(f"{case}.fixed", spec_of(name, kw), OPTAX[name](**kw), "fixed", start5, lambda t, _p: fixed[t])
    for fname, (start, grad, lr) in FUNCTIONS.items():
        kwf = dict(kw, lr=lr)
        run(f"{case}.{fname}", spec_of(name, kwf), OPTAX[name](**kwf), fname, start, lambda t, q, grad=grad: grad(q))


# Lookahead around Optax's sgd and signum (gradus's `sgd` and `signum`
# step as they do): the fast weights, which a trace shows, after each step.
LOOKAHEAD = [
    ("lookahead_sgd", "lookahead(sgd(lr={lr!r}), k=3, alpha=0.5)", lambda lr: optax.lookahead(optax.sgd(lr), 3, 0.5)),
    ("lookahead_signum", "lookahead(signum(lr={lr!r}, momentum=0.9), k=4, alpha=0.8)",
     lambda lr: optax.lookahead(optax.signum(lr, beta=0.9), 4, 0.8)),
]
for case, spec, make in LOOKAHEAD:
    run(f"{case}.fixed", spec.format(lr=0.01), make(0.01), "fixed", start5, lambda t, _p: fixed[t], lookahead=True)
    for fname, (start, grad, lr) in FUNCTIONS.items():
        run(f"{case}.{fname}", spec.format(lr=lr), make(lr), fname, start, lambda t, q, grad=grad: grad(q), lookahead=True)
# Prodigy's step size comes from sums over every parameter: the fixed
# gradients as three parameters (2, 1 and 2 elements) stepped together.
for case, kw in [("prodigy_three", {}), ("prodigy_three_decay", dict(weight_decay=0.05, d_coef=0.5))]:
    kw = dict(kw, lr=1.0)
    run(f"{case}.fixed", spec_of("prodigy", kw), OPTAX["prodigy"](**kw), "fixed", start5, lambda t, _p: fixed[t], split=[2, 1, 2])
out.write("crates/optim/tests/data/optax.txt")

# Schedules, in the format of the PyTorch schedule data: `spec CASE BASE
# SPEC`, `lr CASE …` (the rate at steps 0, 1, …): the base rate times
# Optax's schedule with gradus's factors as its values.
S = optax.schedules
SCHEDULES = [
    ("warmup_cosine", "warmup_cosine(peak=1.0, warmup_steps=5, decay_steps=25, init=0.1, end=0.01)", 0.1,
     S.warmup_cosine_decay_schedule(0.1, 1.0, 5, 25, end_value=0.01), 35),
    ("warmup_cosine_exp", "warmup_cosine(peak=2.0, warmup_steps=0, decay_steps=10, exponent=2.0)", 0.05,
     S.warmup_cosine_decay_schedule(0.0, 2.0, 0, 10, exponent=2.0), 15),
    ("piecewise", "piecewise(boundaries=[3, 7, 10], scales=[0.5, 0.1, 2.0])", 0.1,
     S.piecewise_constant_schedule(1.0, {3: 0.5, 7: 0.1, 10: 2.0}), 14),
    ("piecewise_linear", "piecewise(boundaries=[4, 9], scales=[0.5, 0.2], interpolate=linear)", 0.1,
     S.piecewise_interpolate_schedule("linear", 1.0, {4: 0.5, 9: 0.2}), 12),
    ("piecewise_cosine", "piecewise(boundaries=[0, 5, 6, 12], scales=[2.0, 0.5, 0.3, 1.5], interpolate=cosine)", 0.1,
     S.piecewise_interpolate_schedule("cosine", 1.0, {0: 2.0, 5: 0.5, 6: 0.3, 12: 1.5}), 15),
]
sched = Out("optax_reference.py", f"optax {optax.__version__} and jax {jax.__version__}")
for case, spec, base, schedule, steps in SCHEDULES:
    sched.lines.append(f"spec {case} {base!r} {spec}")
    sched.lines.append(f"lr {case} " + " ".join(repr(base * float(schedule(t))) for t in range(steps)))
sched.write("crates/sched/tests/data/optax.txt")

# Adaptive gradient clipping (crates/gradus/tests/data/optax_agc.txt):
# parameters and gradients in PyTorch's layout (`case param|grad|clipped
# shape values…`), passed to Optax in its own (a linear weight transposed
# to [in, out], a convolution's [O, I, kh, kw] to [kh, kw, I, O]).
import torch  # noqa: E402

torch.set_default_dtype(torch.float64)

agc_draw = Uniform(29, -1.0, 1.0)
agc = Out("optax_reference.py", f"optax {optax.__version__} and jax {jax.__version__}")
to_optax = {2: (1, 0), 4: (2, 3, 1, 0)}
for case, shape, clipping, grad_scale in [
    ("linear", (3, 4), 0.1, 1.0),
    ("linear_small_grads", (3, 4), 0.5, 0.01),
    ("conv", (2, 3, 2, 2), 0.05, 1.0),
    ("bias", (5,), 0.1, 1.0),
    ("row", (1, 6), 0.2, 1.0),
    ("zero_unit", (2, 3), 0.1, 1.0),
]:
    p = agc_draw(*shape)
    g = agc_draw(*shape) * grad_scale
    if case == "zero_unit":
        p[0] = 0.0  # a zero-initialised unit: its floor is eps
    perm = to_optax.get(len(shape))
    po, go = (p.permute(*perm), g.permute(*perm)) if perm else (p, g)
    clip = optax.adaptive_grad_clip(clipping)
    out, _ = clip.update(jnp.asarray(go.numpy()), clip.init(jnp.asarray(po.numpy())), jnp.asarray(po.numpy()))
    clipped = torch.tensor(jax.device_get(out).tolist(), dtype=torch.float64)
    if perm:
        inverse = [perm.index(i) for i in range(len(perm))]
        clipped = clipped.permute(*inverse)
    agc.put(case, "clipping", [clipping])
    agc.put(case, "param", p)
    agc.put(case, "grad", g)
    agc.put(case, "clipped", clipped)
agc.write("crates/gradus/tests/data/optax_agc.txt")
