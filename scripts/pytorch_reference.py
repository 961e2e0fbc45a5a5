#!/usr/bin/env python3
"""Reference values from PyTorch for gradus-loss, gradus-nn, gradus-sched and gradus-optim tests.

Writes crates/{loss,nn,sched,optim}/tests/data/pytorch.txt,
crates/autodiff/tests/data/pytorch_conv.txt and
crates/nn/tests/data/pytorch_norm.txt:
one line per array, `case key v1 v2 ...`, numbers in Python's shortest
round-trip form so Rust parses them to the same f64. Inputs are written too,
so the tests never recompute them. Run by hand when a case is added
(`python3 scripts/pytorch_reference.py` in a venv with torch); the tests
read the files and never need PyTorch.
"""
import math

import torch
import torch.nn.functional as F

from reference_data import FUNCTIONS, Out, Uniform, spec_of

torch.set_default_dtype(torch.float64)
rand = Uniform(7, -3.0, 3.0)
rng = rand.rng


def loss_case(out, case, fn, inputs, targets=()):
    """Records the inputs, the loss value and the gradient of sum(loss) w.r.t. each input."""
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    value = fn(*leaves)
    value.sum().backward()
    for i, x in enumerate(inputs):
        out.put(case, f"input{i}", x)
    for i, t in enumerate(targets):
        out.put(case, f"target{i}", t)
    out.put(case, "value", value)
    for i, x in enumerate(leaves):
        out.put(case, f"grad{i}", x.grad)


loss = Out("pytorch_reference.py")
z = rand(4, 5)
y = torch.tensor([1, 0, 4, 2])
y_ign = torch.tensor([1, 3, 4, 3])
w = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.25])
loss_case(loss, "ce_mean", lambda a: F.cross_entropy(a, y), [z], [y.double()])
loss_case(loss, "ce_sum", lambda a: F.cross_entropy(a, y, reduction="sum"), [z], [y.double()])
loss_case(loss, "ce_weighted_smoothed_ignored", lambda a: F.cross_entropy(a, y_ign, weight=w, ignore_index=3, label_smoothing=0.1), [z], [y_ign.double()])
loss_case(loss, "ce_none_weighted_smoothed", lambda a: F.cross_entropy(a, y, weight=w, label_smoothing=0.2, reduction="none"), [z], [y.double()])
p = torch.softmax(rand(4, 5), -1)
loss_case(loss, "ce_probs", lambda a: F.cross_entropy(a, p, weight=w, label_smoothing=0.1), [z], [p])
big = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
loss_case(loss, "ce_extreme", lambda a: F.cross_entropy(a, torch.tensor([1, 2])), [big], [torch.tensor([1.0, 2.0])])
loss_case(loss, "nll_weighted_ignored", lambda a: F.nll_loss(torch.log_softmax(a, -1), y_ign, weight=w, ignore_index=3), [z], [y_ign.double()])
bits = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.3, 1.0]])
lg = torch.tensor([[2.5, -1.0, 1000.0], [-1000.0, 0.2, -3.0]])
bw = torch.tensor([1.0, 2.0, 0.5])
pw = torch.tensor([2.0, 0.5, 3.0])
loss_case(loss, "bce_logits", lambda a: F.binary_cross_entropy_with_logits(a, bits, weight=bw, pos_weight=pw), [lg], [bits, bw, pw])
probs = torch.tensor([[0.9, 0.2, 1.0], [0.0, 0.5, 0.999]])
loss_case(loss, "bce_probs", lambda a: F.binary_cross_entropy(a, bits, weight=bw, reduction="sum"), [probs], [bits, bw])
a, b = rand(3, 4), rand(3, 4)
loss_case(loss, "mse", lambda u, v: F.mse_loss(u, v), [a, b])
loss_case(loss, "l1", lambda u, v: F.l1_loss(u, v, reduction="sum"), [a, b])
loss_case(loss, "huber", lambda u, v: F.huber_loss(u, v, delta=1.5), [a, b])
loss_case(loss, "smooth_l1", lambda u, v: F.smooth_l1_loss(u, v, beta=0.5, reduction="none"), [a, b])
q_log = torch.log_softmax(rand(3, 4), -1)
t_prob = torch.softmax(rand(3, 4), -1)
t_prob[0, 1] = 0.0
loss_case(loss, "kl_div", lambda u, v: F.kl_div(u, v, reduction="batchmean"), [q_log, t_prob])
loss_case(loss, "kl_div_log_target", lambda u, v: F.kl_div(u, v, reduction="mean", log_target=True), [q_log, torch.log_softmax(rand(3, 4), -1)])
var = torch.tensor([0.5, 1e-8, 2.0])
loss_case(loss, "gaussian_nll", lambda u, v, s: F.gaussian_nll_loss(u, v, s, full=True, eps=1e-6), [rand(3, 2), rand(3, 2), var])
loss.write("crates/loss/tests/data/pytorch.txt")

nn = Out("pytorch_reference.py")
bn = torch.nn.BatchNorm1d(3)
with torch.no_grad():
    bn.weight.copy_(torch.tensor([1.5, 0.5, -1.0]))
    bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
x = rand(5, 3)
xl = x.clone().requires_grad_(True)
out = bn(xl)
(out * torch.arange(15.0).reshape(5, 3)).sum().backward()
nn.put("batchnorm", "input", x)
nn.put("batchnorm", "train_out", out)
nn.put("batchnorm", "grad_input", xl.grad)
nn.put("batchnorm", "grad_weight", bn.weight.grad)
nn.put("batchnorm", "grad_bias", bn.bias.grad)
x2 = rand(4, 3)
bn(x2)
nn.put("batchnorm", "input2", x2)
nn.put("batchnorm", "running_mean", bn.running_mean)
nn.put("batchnorm", "running_var", bn.running_var)
bn.eval()
x3 = rand(2, 3)
nn.put("batchnorm", "input3", x3)
nn.put("batchnorm", "eval_out", bn(x3))
nn.write("crates/nn/tests/data/pytorch.txt")

# Schedules: lines `spec CASE BASE_LR SPEC`, `lr CASE v0 v1 …` (the rate at
# steps 0, 1, …), `momentum CASE …` where cycled, `metrics CASE …` for plateau.
sched = Out("pytorch_reference.py")


def sched_case(case, spec, base_lr, make, steps, momentum=False, metrics=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr, momentum=0.9)
    s = make(opt)
    lrs, moms = [], []
    for t in range(steps):
        if metrics is None:
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["momentum"])
            opt.step()
            s.step()
        else:
            opt.step()
            s.step(metrics[t])
            lrs.append(opt.param_groups[0]["lr"])
    sched.lines.append(f"spec {case} {base_lr!r} {spec}")
    if metrics is not None:
        sched.lines.append(f"metrics {case} " + " ".join(repr(float(m)) for m in metrics))
    sched.lines.append(f"lr {case} " + " ".join(repr(float(v)) for v in lrs))
    if momentum:
        sched.lines.append(f"momentum {case} " + " ".join(repr(float(v)) for v in moms))


S = torch.optim.lr_scheduler
sched_case("constant", "constant(factor=0.5, total_iters=4)", 0.1, lambda o: S.ConstantLR(o, factor=0.5, total_iters=4), 10)
sched_case("step", "step(step_size=3, gamma=0.5)", 0.1, lambda o: S.StepLR(o, 3, 0.5), 12)
sched_case("multistep", "multistep(milestones=[2, 5, 5, 9], gamma=0.3)", 0.1, lambda o: S.MultiStepLR(o, [2, 5, 5, 9], 0.3), 12)
sched_case("exponential", "exponential(gamma=0.9)", 0.1, lambda o: S.ExponentialLR(o, 0.9), 20)
sched_case("inverse_time", "inverse_time(k=0.5)", 0.1, lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t)), 20)
sched_case("polynomial", "polynomial(total_iters=8, power=2)", 0.1, lambda o: S.PolynomialLR(o, 8, 2.0), 12)
sched_case("linear", "linear(start_factor=0.25, end_factor=0.75, total_iters=6)", 0.1, lambda o: S.LinearLR(o, 0.25, 0.75, 6), 10)
sched_case("cosine", "cosine(t_max=10, eta_min=0.001)", 0.1, lambda o: S.CosineAnnealingLR(o, 10, 0.001), 35)
sched_case("warm_restarts", "warm_restarts(t_0=3, t_mult=2, eta_min=0.01)", 0.1, lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2, 0.01), 50)
sched_case("warm_restarts_1", "warm_restarts(t_0=4)", 0.1, lambda o: S.CosineAnnealingWarmRestarts(o, 4), 15)
sched_case("cyclic", "cyclic(base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=2)", 0.1,
           lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=2), 30, momentum=True)
sched_case("cyclic2", "cyclic(base_lr=0.01, max_lr=0.1, step_size_up=3, mode=triangular2, cycle_momentum=false)", 0.1,
           lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2", cycle_momentum=False), 30)
sched_case("cyclic_exp", "cyclic(base_lr=0.01, max_lr=0.1, step_size_up=3, mode=exp_range, gamma=0.95, base_momentum=0.7, max_momentum=0.95)", 0.1,
           lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.95, base_momentum=0.7, max_momentum=0.95), 30, momentum=True)
sched_case("onecycle", "onecycle(max_lr=0.5, total_steps=20)", 0.1, lambda o: S.OneCycleLR(o, 0.5, total_steps=20), 20, momentum=True)
sched_case("onecycle3", "onecycle(max_lr=1, total_steps=25, pct_start=0.4, anneal_strategy=linear, div_factor=10, final_div_factor=100, three_phase=true)", 0.1,
           lambda o: S.OneCycleLR(o, 1.0, total_steps=25, pct_start=0.4, anneal_strategy="linear", div_factor=10, final_div_factor=100, three_phase=True), 25, momentum=True)
sched_case("sequential", "sequential([linear(start_factor=0.1, total_iters=5), cosine(t_max=10)], milestones=[5])", 0.1,
           lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5), S.CosineAnnealingLR(o, 10)], milestones=[5]), 25)
losses = [1.0, 0.9, 0.95, 0.97, 0.9, 0.92, 0.91, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
sched_case("multiplicative", "multiplicative(factor=0.9)", 0.1, lambda o: S.MultiplicativeLR(o, lambda t: 0.9), 20)
sched_case("chained", "chained([constant(factor=0.5, total_iters=3), exponential(gamma=0.9)])", 0.1,
           lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 3), S.ExponentialLR(o, 0.9)]), 12)
sched_case("chained3", "chained([step(step_size=3, gamma=0.5), linear(start_factor=0.2, total_iters=4), multiplicative(factor=0.95)])", 0.1,
           lambda o: S.ChainedScheduler([S.StepLR(o, 3, 0.5), S.LinearLR(o, 0.2, 1.0, 4), S.MultiplicativeLR(o, lambda t: 0.95)]), 12)
sched_case("plateau", "plateau(patience=2, factor=0.5, cooldown=1, min_lr=0.02)", 0.1,
           lambda o: S.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1, min_lr=0.02), len(losses), metrics=losses)
acc = [0.5, 0.6, 0.6, 0.6005, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.71, 0.7, 0.7, 0.7, 0.7]
sched_case("plateau_max_abs", "plateau(mode=max, threshold_mode=abs, threshold=0.01, patience=1)", 0.1,
           lambda o: S.ReduceLROnPlateau(o, mode="max", threshold_mode="abs", threshold=0.01, patience=1), len(acc), metrics=acc)
sched.write("crates/sched/tests/data/pytorch.txt")

# Optimisers: lines `case NAME FUNCTION SPEC`, `start NAME …`, `grads NAME …`
# (fixed-gradient cases, flattened per step), `traj NAME …` (the parameters
# after each step, flattened). Gradients of the test functions are computed
# with plain float formulas, written identically in the Rust test.
CONFIGS = [
    ("sgd", "sgd", {}),
    ("sgd_momentum", "sgd", dict(momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd_nesterov", "sgd", dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("sgd_maximize", "sgd", dict(momentum=0.5, maximize=True)),
    ("adagrad", "adagrad", dict(lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
    ("rmsprop", "rmsprop", {}),
    ("rmsprop_centered", "rmsprop", dict(alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ("adadelta", "adadelta", dict(rho=0.95, weight_decay=0.01)),
    ("adam", "adam", {}),
    ("adam_amsgrad", "adam", dict(betas=(0.8, 0.99), amsgrad=True, weight_decay=0.01)),
    ("adamw", "adamw", dict(weight_decay=0.1)),
    ("adam_decoupled_max", "adam", dict(decoupled_weight_decay=True, weight_decay=0.05, maximize=True)),
    ("nadam", "nadam", {}),
    ("nadam_decoupled", "nadam", dict(momentum_decay=0.01, weight_decay=0.05, decoupled_weight_decay=True)),
    ("adamax", "adamax", dict(weight_decay=0.01)),
    ("radam", "radam", {}),
    ("radam_decoupled", "radam", dict(weight_decay=0.05, decoupled_weight_decay=True)),
    ("rprop", "rprop", dict(etas=(0.4, 1.3), step_sizes=(1e-5, 1.0))),
    ("asgd", "asgd", dict(lambd=0.01, alpha=0.7, t0=5.0, weight_decay=0.01)),
    ("adafactor", "adafactor", {}),
    ("adafactor_options", "adafactor", dict(beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.01)),
]
TORCH = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop, "adadelta": torch.optim.Adadelta,
         "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "nadam": torch.optim.NAdam, "adamax": torch.optim.Adamax,
         "radam": torch.optim.RAdam, "rprop": torch.optim.Rprop, "asgd": torch.optim.ASGD,
         "adafactor": torch.optim.Adafactor, "muon": torch.optim.Muon}
# PyTorch's Muon runs its Newton-Schulz iteration in bfloat16; gradus runs
# it in the parameter's type, so the reference is PyTorch's code with that
# one cast removed.
import inspect  # noqa: E402
import torch.optim._muon as _muon  # noqa: E402

_ns = inspect.getsource(_muon._zeropower_via_newtonschulz)
assert "torch.bfloat16" in _ns
exec(_ns.replace("torch.bfloat16", "grad.dtype"), _muon.__dict__)
optim = Out("pytorch_reference.py")
STEPS = 30


def run(case, name, kw, function, start, grad_of, steps=STEPS, shape=None):
    p = torch.nn.Parameter(torch.tensor(start).reshape(shape or [len(start)]))
    opt = TORCH[name]([p], **kw) if name == "muon" else TORCH[name]([p], **kw, foreach=False)
    traj, grads = [], []
    for t in range(steps):
        g = grad_of(t, p.detach().reshape(-1).tolist())
        grads.extend(g)
        p.grad = torch.tensor(g).reshape(p.shape)
        opt.step()
        traj.extend(p.detach().reshape(-1).tolist())
    optim.lines.append(f"case {case} {function} {spec_of(name, kw)}")
    if shape:
        optim.lines.append(f"shape {case} " + ",".join(map(str, shape)))
    optim.lines.append(f"start {case} " + " ".join(repr(float(v)) for v in start))
    if function == "fixed":
        optim.lines.append(f"grads {case} " + " ".join(repr(float(v)) for v in grads))
    optim.lines.append(f"traj {case} " + " ".join(repr(float(v)) for v in traj))


fixed = [[rng.uniform(-2, 2) for _ in range(5)] for _ in range(STEPS)]
start5 = [rng.uniform(-1, 1) for _ in range(5)]
for case, name, kw in CONFIGS:
    kw = dict(kw)
    kw.setdefault("lr", 1.0 if name == "adadelta" else 0.01)
    run(f"{case}.fixed", name, kw, "fixed", start5, lambda t, _p: fixed[t])
    for fname, (start, grad, lr) in FUNCTIONS.items():
        kwf = dict(kw)
        if name != "adadelta":
            kwf["lr"] = lr
        run(f"{case}.{fname}", name, kwf, fname, start, lambda t, q, grad=grad: grad(q))
# Methods that treat matrices apart (Adafactor's factored second moment,
# Muon's orthogonalisation), on matrices: fixed gradients, and the
# gradient of sum_k (k+1) w_k^2 / 2 ("scaled", k the row-major index).
mat = Uniform(23, -2.0, 2.0)
MATRIX = [
    ("adafactor", "adafactor", dict(lr=0.05), [(3, 4), (4, 3), (2, 3, 2)]),
    ("adafactor_options", "adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.01, maximize=True),
     [(3, 4), (2, 3, 2)]),
    ("muon", "muon", dict(lr=0.02), [(3, 4), (4, 3)]),
    ("muon_plain", "muon", dict(lr=0.02, momentum=0.9, nesterov=False, weight_decay=0.0, ns_steps=3, adjust_lr_fn="match_rms_adamw"),
     [(3, 4), (5, 2)]),
    ("muon_spectral", "muon", dict(lr=0.01, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-3, adjust_lr_fn="spectral_unclamped"), [(4, 3)]),
]
for case, name, kw, shapes in MATRIX:
    for shape in shapes:
        n = math.prod(shape)
        tag = "x".join(map(str, shape))
        grads = [mat(n).tolist() for _ in range(STEPS)]
        start = mat(n, lo=-1.0, hi=1.0).tolist()
        run(f"{case}.m{tag}_fixed", name, kw, "fixed", start, lambda t, _p, grads=grads: grads[t], shape=list(shape))
        run(f"{case}.m{tag}_scaled", name, kw, "scaled", start, lambda t, q: [(k + 1) * w for k, w in enumerate(q)],
            shape=list(shape))
# Long runs on Rosenbrock from (-1.5, 2), where the path crosses the valley
# and amplifies any rounding that differs from PyTorch's: they hold the
# update to PyTorch's order of operations, fused multiply-adds included.
for case, name, kw in [("nadam.rosenbrock_long", "nadam", dict(lr=0.05)), ("adam.rosenbrock_long", "adam", dict(lr=0.05))]:
    run(case, name, kw, "rosenbrock", [-1.5, 2.0], lambda t, q: FUNCTIONS["rosenbrock"][1](q), steps=300)
LBFGS = [
    ("lbfgs_wolfe.rosenbrock", "rosenbrock", dict(line_search_fn="strong_wolfe"), 6),
    ("lbfgs_wolfe.himmelblau", "himmelblau", dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7), 5),
    ("lbfgs_fixed.quadratic", "quadratic", dict(lr=0.01, max_iter=10), 5),
    ("lbfgs_fixed.rosenbrock", "rosenbrock", dict(lr=0.05, max_iter=4, history_size=2), 6),
    # 20 inner iterations a step from (-1.5, 2): crosses Rosenbrock's valley.
    ("lbfgs_fixed.rosenbrock_long", "rosenbrock", dict(lr=0.1, max_iter=20, history_size=10), 10, [-1.5, 2.0]),
]
LOSS = {
    "rosenbrock": lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] * p[0]) ** 2,
    "himmelblau": lambda p: (p[0] * p[0] + p[1] - 11.0) ** 2 + (p[0] + p[1] * p[1] - 7.0) ** 2,
    "quadratic": lambda p: 0.5 * p[0] * p[0] + 50.0 * p[1] * p[1],
}
for case, fname, kw, calls, *own_start in LBFGS:
    start, grad, _ = FUNCTIONS[fname]
    start = own_start[0] if own_start else start
    p = torch.nn.Parameter(torch.tensor(start))
    opt = torch.optim.LBFGS([p], **kw)

    def closure():
        q = p.detach().tolist()
        p.grad = torch.tensor(grad(q))
        return LOSS[fname](q)

    traj = []
    for _ in range(calls):
        opt.step(closure)
        traj.extend(p.detach().tolist())
    spec = "lbfgs(" + ", ".join(f"{k}={v if isinstance(v, str) else repr(v)}" for k, v in kw.items()) + ")"
    optim.lines.append(f"case {case} {fname} {spec}")
    optim.lines.append(f"start {case} " + " ".join(repr(float(v)) for v in start))
    optim.lines.append(f"traj {case} " + " ".join(repr(float(v)) for v in traj))
optim.write("crates/optim/tests/data/pytorch.txt")

# Convolutions, pooling and padding (crates/autodiff/tests/data/pytorch_conv.txt):
# per case the inputs, a cotangent `cot`, the output `out` and the gradients
# `grad0`, `grad1`, ... of sum(out * cot). Its own generator, so adding cases
# here never changes the values above.
conv = Out("pytorch_reference.py")
crand = Uniform(11, -2.0, 2.0)
crng = crand.rng


def op_case(case, fn, inputs):
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    value = fn(*leaves)
    cot = crand(*value.shape)
    (value * cot).sum().backward()
    for i, x in enumerate(inputs):
        conv.put(case, f"input{i}", x)
    conv.put(case, "cot", cot)
    conv.put(case, "out", value)
    for i, x in enumerate(leaves):
        conv.put(case, f"grad{i}", x.grad)


def padded_conv(mode, pad, **kw):
    # What nn.Conv2d does for a padding_mode other than zeros.
    ph, pw = pad
    return lambda x, w: F.conv2d(F.pad(x, (pw, pw, ph, ph), mode=mode), w, **kw)


op_case("conv2d_odd", lambda x, w, b: F.conv2d(x, w, b, padding=(1, 0)), [crand(2, 3, 7, 6), crand(4, 3, 3, 2), crand(4)])
op_case("conv2d_stride_gt_kernel", lambda x, w: F.conv2d(x, w, stride=(3, 4)), [crand(1, 2, 9, 8), crand(3, 2, 2, 2)])
op_case("conv2d_pad_dilation", lambda x, w: F.conv2d(x, w, padding=2, dilation=2), [crand(1, 2, 8, 7), crand(2, 2, 3, 3)])
op_case("conv2d_groups2", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), [crand(2, 4, 6, 5), crand(6, 2, 3, 3), crand(6)])
op_case("conv2d_depthwise_same", lambda x, w: F.conv2d(x, w, padding="same", groups=3), [crand(1, 3, 6, 6), crand(3, 1, 3, 3)])
op_case("conv2d_same_even", lambda x, w: F.conv2d(x, w, padding="same", dilation=(1, 2)), [crand(1, 2, 5, 6), crand(2, 2, 4, 2)])
for mode in ["reflect", "replicate", "circular"]:
    op_case(f"conv2d_{mode}", padded_conv(mode, (1, 2), stride=(2, 1)), [crand(1, 2, 5, 6), crand(3, 2, 3, 3)])
op_case("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2), [crand(2, 2, 9), crand(3, 2, 3), crand(3)])
op_case("conv1d_circular", lambda x, w: F.conv1d(F.pad(x, (2, 2), mode="circular"), w), [crand(1, 2, 6), crand(2, 2, 3)])
op_case("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
        [crand(1, 4, 4, 3), crand(4, 3, 3, 3), crand(6)])
op_case("conv_transpose2d_dilation", lambda x, w: F.conv_transpose2d(x, w, stride=(1, 2), output_padding=(0, 1), dilation=2),
        [crand(2, 2, 3, 4), crand(2, 3, 2, 3)])
op_case("max_pool2d_ceil", lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), [crand(2, 2, 7, 6)])
op_case("max_pool2d_stride_dilation", lambda x: F.max_pool2d(x, 2, stride=3, dilation=2), [crand(1, 2, 9, 8)])
ties = torch.tensor([float(crng.randint(0, 3)) for _ in range(2 * 6 * 6)]).reshape(1, 2, 6, 6)
op_case("max_pool2d_ties", lambda x: F.max_pool2d(x, 3, stride=1, padding=1), [ties])
op_case("avg_pool2d_ceil", lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), [crand(2, 2, 6, 7)])
op_case("avg_pool2d_exclude_pad", lambda x: F.avg_pool2d(x, (2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True, count_include_pad=False),
        [crand(1, 2, 5, 6)])
op_case("avg_pool2d_divisor", lambda x: F.avg_pool2d(x, 2, divisor_override=3), [crand(1, 1, 5, 5)])
op_case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [crand(1, 2, 7, 5)])
op_case("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 4)), [crand(1, 2, 7, 5)])
for mode in ["constant", "reflect", "replicate", "circular"]:
    op_case(f"pad_{mode}", lambda x, mode=mode: F.pad(x, (1, 3, 2, 1), mode=mode, **({"value": 0.5} if mode == "constant" else {})),
            [crand(1, 2, 4, 5)])
conv.write("crates/autodiff/tests/data/pytorch_conv.txt")
# Normalisation layers (crates/nn/tests/data/pytorch_norm.txt): per case the
# input `input0`, the parameters `input1`, ... (weight, then bias), a
# cotangent `cot`, the output `out` and the gradients `grad0`, `grad1`, ...
# of sum(out * cot). Its own generator, as the convolutions'.
norm = Out("pytorch_reference.py")
nrand = Uniform(13, -2.0, 2.0)


def norm_case(case, fn, inputs):
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    value = fn(*leaves)
    cot = nrand(*value.shape)
    (value * cot).sum().backward()
    for i, x in enumerate(inputs):
        norm.put(case, f"input{i}", x)
    norm.put(case, "cot", cot)
    norm.put(case, "out", value)
    for i, x in enumerate(leaves):
        norm.put(case, f"grad{i}", x.grad)


norm_case("layernorm_two_dims", lambda x, w, b: F.layer_norm(x, (2, 4), w, b, eps=1e-5), [nrand(3, 2, 4), nrand(2, 4), nrand(2, 4)])
norm_case("layernorm_no_affine", lambda x: F.layer_norm(x, (5,), eps=1e-5), [nrand(4, 5)])
norm_case("layernorm_no_bias", lambda x, w: F.layer_norm(x, (3,), w, None, eps=1e-5), [nrand(2, 2, 3), nrand(3)])
norm_case("layernorm_eps_zero", lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=0.0), [nrand(3, 4), nrand(4), nrand(4)])
norm_case("layernorm_eps_large", lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=10.0), [nrand(3, 4), nrand(4), nrand(4)])
norm_case("rmsnorm_default_eps", lambda x, w: F.rms_norm(x, (4,), w), [nrand(3, 4), nrand(4)])
norm_case("rmsnorm_two_dims", lambda x, w: F.rms_norm(x, (2, 3), w, eps=1e-3), [nrand(2, 2, 3), nrand(2, 3)])
norm_case("rmsnorm_no_affine", lambda x: F.rms_norm(x, (5,), eps=1e-6), [nrand(3, 5)])
norm_case("groupnorm_three_of_two", lambda x, w, b: F.group_norm(x, 3, w, b, eps=1e-5), [nrand(2, 6, 3), nrand(6), nrand(6)])
norm_case("groupnorm_odd_groups", lambda x, w, b: F.group_norm(x, 3, w, b, eps=1e-5), [nrand(2, 9, 2, 2), nrand(9), nrand(9)])
norm_case("groupnorm_one_group", lambda x: F.group_norm(x, 1, eps=1e-2), [nrand(3, 4, 2)])
norm_case("groupnorm_per_channel", lambda x, w, b: F.group_norm(x, 5, w, b, eps=1e-5), [nrand(2, 5, 3, 2), nrand(5), nrand(5)])
norm_case("instancenorm_affine", lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-5), [nrand(2, 3, 4, 5), nrand(3), nrand(3)])
norm_case("instancenorm_plain", lambda x: F.instance_norm(x, eps=1e-5), [nrand(2, 2, 3, 3)])
norm.write("crates/nn/tests/data/pytorch_norm.txt")
print("wrote reference values")

# Weight averaging (crates/gradus/tests/data/pytorch_ema.txt): a small
# network with batch norm, 6 SGD steps on fixed batches, and
# torch.optim.swa_utils.AveragedModel (EMA, use_buffers=True) updated
# after each step. Lines `case key shape values…`: the initial parameters
# (`init.<name>`), the batches (`x.<t>`, `y.<t>`) and the average after the
# last step (`ema.<name>`), parameters and floating buffers.
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn  # noqa: E402

def small_bn_net(draw, out, case):
    """Linear(3, 4), BatchNorm1d(4), Tanh, Linear(4, 2) with parameters
    from `draw`, each written as `init.<name>`."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(draw(*p.shape))
            out.put(case, f"init.{name}", p)
    return net


ema_rand = Uniform(31, -1.0, 1.0)
ema = Out("pytorch_reference.py")
net = small_bn_net(ema_rand, ema, "ema")
averaged = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.8), use_buffers=True)
sgd = torch.optim.SGD(net.parameters(), lr=0.1)
for t in range(6):
    x = ema_rand(5, 3)
    y = torch.tensor([rng.randrange(2) for _ in range(5)])
    ema.put("ema", f"x.{t}", x)
    ema.put("ema", f"y.{t}", y.double())
    sgd.zero_grad()
    F.cross_entropy(net(x), y).backward()
    sgd.step()
    averaged.update_parameters(net)
for name, v in list(averaged.module.named_parameters()) + list(averaged.module.named_buffers()):
    if v.is_floating_point():
        ema.put("ema", f"ema.{name}", v)
ema.write("crates/gradus/tests/data/pytorch_ema.txt")

# Stochastic weight averaging (crates/gradus/tests/data/pytorch_swa.txt):
# the same network, 4 epochs of SGD with momentum over 10 examples in
# batches of 5 (in order), averaged from the second epoch
# (AveragedModel's default running mean) with SWALR(swa_lr=0.05,
# anneal_epochs=2, cos), then update_bn over the same batches. Lines:
# `init.<name>`, the data (`x`, `y`), the rate after each epoch (`lr`),
# and the average's parameters and buffers (`swa.<name>`).
from torch.optim.swa_utils import SWALR, update_bn  # noqa: E402

swa_rand = Uniform(37, -1.0, 1.0)
swa = Out("pytorch_reference.py")
net = small_bn_net(swa_rand, swa, "swa")
x = swa_rand(10, 3)
y = torch.tensor([rng.randrange(2) for _ in range(10)])
swa.put("swa", "x", x)
swa.put("swa", "y", y.double())
averaged = AveragedModel(net)
sgd = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
swa_sched = SWALR(sgd, swa_lr=0.05, anneal_epochs=2, anneal_strategy="cos")
batches = [(x[i:i + 5], y[i:i + 5]) for i in (0, 5)]
lrs = []
for epoch in range(1, 5):
    for xb, yb in batches:
        sgd.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        sgd.step()
    if epoch >= 2:
        averaged.update_parameters(net)
        swa_sched.step()
    lrs.append(sgd.param_groups[0]["lr"])
update_bn([xb for xb, _ in batches], averaged)
swa.put("swa", "lr", torch.tensor(lrs, dtype=torch.float64))
for name, v in list(averaged.module.named_parameters()) + list(averaged.module.named_buffers()):
    if v.is_floating_point():
        swa.put("swa", f"swa.{name}", v)
swa.write("crates/gradus/tests/data/pytorch_swa.txt")
