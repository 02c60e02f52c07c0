"""szrun torch-prune helper: embedded in szrun-plugin-torch beside export.py
(whose model loading it reuses), written into the stage's scratch dir and run as

    python3 prune.py SPEC.json

It builds the model, optionally trains it (pretrain_epochs), then for each
amount of the schedule prunes it and fine-tunes it for epochs_per_step epochs,
recording validation accuracy and sparsity. magnitude zeroes the smallest
weights of all Conv and Linear layers together (torch.nn.utils.prune, masks kept
through fine-tuning, made permanent at the end). structured removes whole
output channels of Conv2d and hidden units of Linear layers for real: each
layer and the ones reading it (BatchNorm, the next Conv2d's input channels, a
Linear after a flatten) are replaced by smaller ones. Then it saves the
checkpoint, exports ONNX and writes inputs and PyTorch's outputs for the
plugin to validate in ONNX Runtime. The outcome goes to spec["result_path"] as
export.py's does.
"""

from export import StepError, build_model, log, serve, setup, step


def load_npz(np, path, what):
    d = np.load(path)
    if "labels" not in d:
        raise StepError("data", "%s %s has no `labels` array" % (what, path))
    names = sorted(k for k in d.files if k != "labels")
    if len(names) != 1:
        raise StepError("data", "%s %s: want one input array beside labels, found %s" % (what, path, names or "none"))
    x, y = d[names[0]].astype("float32"), d["labels"].astype("int64")
    if len(x) != len(y):
        raise StepError("data", "%s %s: %d inputs but %d labels" % (what, path, len(x), len(y)))
    return names[0], x, y


def accuracy(torch, model, x, y, batch):
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            hits += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return hits / len(x)


def train(torch, model, x, y, epochs, spec, gen):
    if epochs <= 0:
        return
    params = [p for p in model.parameters() if p.requires_grad]
    if spec["optimizer"] == "adam":
        opt = torch.optim.Adam(params, lr=spec["lr"])
    else:
        opt = torch.optim.SGD(params, lr=spec["lr"], momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    b = spec["batch_size"]
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), b):
            idx = perm[i:i + b]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def layers(torch, model):
    nn = torch.nn
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def weight_of(m):
    return getattr(m, "weight_orig", m.weight)


def sparsity(torch, model, before):
    """Fraction of the original Conv/Linear weights that are zero or gone."""
    kept_nonzero = 0
    for _, m in layers(torch, model):
        w = m.weight.detach()
        kept_nonzero += int((w != 0).sum())
    return 1.0 - kept_nonzero / before


# ---------------------------------------------------------------- magnitude

def magnitude(torch, model, total, done):
    import torch.nn.utils.prune as prune

    params = [(m, "weight") for _, m in layers(torch, model)]
    # torch's amount is a share of the weights still unpruned.
    rel = (total - done) / (1.0 - done)
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=rel)


def make_permanent(torch, model):
    import torch.nn.utils.prune as prune

    for _, m in layers(torch, model):
        if prune.is_pruned(m) and hasattr(m, "weight_orig"):
            prune.remove(m, "weight")


# ---------------------------------------------------------------- structured

PASS_MODULES = ("ReLU", "ReLU6", "LeakyReLU", "SiLU", "GELU", "Hardswish", "Hardsigmoid", "Sigmoid", "Tanh",
                "ELU", "Mish", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Dropout", "Dropout2d", "Identity")
PASS_FUNCTIONS = ("relu", "relu6", "leaky_relu", "silu", "gelu", "hardswish", "sigmoid", "tanh", "elu",
                  "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "dropout")


def chains(torch, model, example):
    """Finds layers whose output channels can go: a Conv2d (groups 1) or
    Linear whose output reaches, through BatchNorm, activations, pools and
    dropout only, Conv2d (groups 1) or Linear layers (after a flatten). Returns
    [(name, [bn names], [(consumer name, spatial)])] in graph order."""
    import torch.fx as fx
    from torch.fx.passes.shape_prop import ShapeProp

    nn = torch.nn
    gm = fx.symbolic_trace(model)
    ShapeProp(gm).propagate(example)
    mods = dict(gm.named_modules())

    def kind(n):
        if n.op == "call_module":
            m = mods[n.target]
            if isinstance(m, nn.Conv2d):
                return "conv" if m.groups == 1 else None
            if isinstance(m, nn.Linear):
                return "linear"
            if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                return "bn"
            if type(m).__name__ in PASS_MODULES:
                return "pass"
            if isinstance(m, nn.Flatten) and m.start_dim == 1:
                return "flatten"
            return None
        if n.op == "call_function":
            name = getattr(n.target, "__name__", "")
            if name in PASS_FUNCTIONS:
                return "pass"
            if name == "flatten" and (n.args[1:2] == (1,) or n.kwargs.get("start_dim") == 1):
                return "flatten"
            return None
        if n.op == "call_method":
            if n.target in ("relu", "sigmoid", "tanh"):
                return "pass"
            if n.target == "flatten" and (n.args[1:2] == (1,) or n.kwargs.get("start_dim") == 1):
                return "flatten"
        return None

    out = []
    for n in gm.graph.nodes:
        k = kind(n)
        if k not in ("conv", "linear"):
            continue
        channels = mods[n.target].weight.shape[0]
        bns, consumers, ok = [], [], True
        frontier, flat = [(u, 1) for u in n.users], False
        seen = set()
        while frontier and ok:
            u, spatial = frontier.pop()
            if u in seen:
                continue
            seen.add(u)
            ku = kind(u)
            if ku in ("conv", "linear"):
                m = mods[u.target]
                if ku == "conv" and spatial != 1:
                    ok = False
                # The first argument must be the value carrying the channels.
                consumers.append((u.target, spatial))
            elif ku == "bn":
                bns.append(u.target)
                frontier += [(v, spatial) for v in u.users]
            elif ku == "pass":
                frontier += [(v, spatial) for v in u.users]
            elif ku == "flatten" and k == "conv":
                shape = u.args[0].meta["tensor_meta"].shape
                sp = 1
                for d in shape[2:]:
                    sp *= int(d)
                frontier += [(v, sp) for v in u.users]
            else:
                ok = False
        if ok and consumers and channels > 1:
            out.append((n.target, bns, consumers))
    return out


def replace(model, name, new):
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, new)


def keep_count(orig, amount, multiple):
    kept = int(round(orig * (1.0 - amount)))
    if multiple > 1 and orig > multiple:
        kept = max(multiple, int(round(kept / multiple)) * multiple)
    return max(1, min(orig, kept))


def structured(torch, model, amount, multiple, original, example):
    """Removes channels so that each prunable layer keeps
    keep_count(original channels, amount)."""
    nn = torch.nn
    removed = 0
    for name, bns, consumers in chains(torch, model, example):
        m = model.get_submodule(name)
        n = m.weight.shape[0]
        kept = keep_count(original.setdefault(name, n), amount, multiple)
        if kept >= n:
            continue
        w = m.weight.detach()
        score = w.reshape(n, -1).norm(dim=1)
        for b in bns:
            score = score * model.get_submodule(b).weight.detach().abs()
        keep = torch.sort(torch.topk(score, kept).indices).values
        if isinstance(m, nn.Conv2d):
            new = nn.Conv2d(m.in_channels, kept, m.kernel_size, m.stride, m.padding, m.dilation, 1,
                            m.bias is not None, m.padding_mode)
        else:
            new = nn.Linear(m.in_features, kept, m.bias is not None)
        with torch.no_grad():
            new.weight.copy_(w[keep])
            if m.bias is not None:
                new.bias.copy_(m.bias.detach()[keep])
        replace(model, name, new)
        for b in bns:
            bn = model.get_submodule(b)
            nb = type(bn)(kept, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
            with torch.no_grad():
                if bn.affine:
                    nb.weight.copy_(bn.weight.detach()[keep])
                    nb.bias.copy_(bn.bias.detach()[keep])
                if bn.track_running_stats:
                    nb.running_mean.copy_(bn.running_mean[keep])
                    nb.running_var.copy_(bn.running_var[keep])
                    nb.num_batches_tracked.copy_(bn.num_batches_tracked)
            replace(model, b, nb)
        for cname, spatial in consumers:
            c = model.get_submodule(cname)
            idx = (keep[:, None] * spatial + torch.arange(spatial)[None, :]).reshape(-1)
            if isinstance(c, nn.Conv2d):
                nc = nn.Conv2d(kept, c.out_channels, c.kernel_size, c.stride, c.padding, c.dilation, 1,
                               c.bias is not None, c.padding_mode)
            else:
                nc = nn.Linear(kept * spatial, c.out_features, c.bias is not None)
            with torch.no_grad():
                nc.weight.copy_(c.weight.detach()[:, idx])
                if c.bias is not None:
                    nc.bias.copy_(c.bias.detach())
            replace(model, cname, nc)
        removed += n - kept
    return removed


# ---------------------------------------------------------------- main

def run(spec):
    np, torch = setup(spec)
    np.random.seed(spec["seed"])
    gen = torch.Generator().manual_seed(spec["seed"])
    model = step("import", build_model, spec, torch)
    name, x, y = load_npz(np, spec["data"], "data")
    vname, vx, vy = load_npz(np, spec.get("val_data") or spec["data"], "val_data")
    if vname != name or vx.shape[1:] != x.shape[1:]:
        raise StepError("data", "val_data's input %s %s does not match data's %s %s" % (
            vname, list(vx.shape[1:]), name, list(x.shape[1:])))
    x, y, vx, vy = (torch.from_numpy(a) for a in (x, y, vx, vy))
    b = spec["batch_size"]

    if spec["pretrain_epochs"] > 0:
        log("training the unpruned model for %d epochs" % spec["pretrain_epochs"])
        step("train", train, torch, model, x, y, spec["pretrain_epochs"], spec, gen)
    before = sum(m.weight.numel() for _, m in layers(torch, model))
    acc0 = step("evaluate", accuracy, torch, model, vx, vy, b)
    log("unpruned: validation accuracy %.4f, %d Conv/Linear weights" % (acc0, before))

    accs, sparsities, original, done = {}, {}, {}, 0.0
    for amount in spec["schedule"]:
        label = ("%.6f" % amount).rstrip("0").rstrip(".")
        if spec["strategy"] == "magnitude":
            step("prune", magnitude, torch, model, amount, done)
        else:
            removed = step("prune", structured, torch, model, amount, spec["channel_multiple"], original, vx[:2])
            log("step %s: removed %d channels" % (label, removed))
        done = amount
        acc_pruned = step("evaluate", accuracy, torch, model, vx, vy, b)
        step("train", train, torch, model, x, y, spec["epochs_per_step"], spec, gen)
        accs[label] = step("evaluate", accuracy, torch, model, vx, vy, b)
        sparsities[label] = sparsity(torch, model, before)
        log("step %s: sparsity %.4f, accuracy %.4f after pruning, %.4f after %d epochs of fine-tuning" % (
            label, sparsities[label], acc_pruned, accs[label], spec["epochs_per_step"]))
    make_permanent(torch, model)
    model.eval()

    if spec["strategy"] == "magnitude":
        torch.save(model.state_dict(), spec["checkpoint_path"])
    else:  # the architecture changed: a state_dict would not fit the factory's model
        torch.save(model, spec["checkpoint_path"])
    n = min(len(vx), 64)
    args = (vx[:n],)
    with torch.no_grad():
        out = model(*args)
    out_name = spec.get("output") or "output"

    def export():
        with torch.no_grad():
            torch.onnx.export(model, args, spec["onnx_path"], input_names=[name], output_names=[out_name],
                              dynamic_axes={name: {0: "batch"}, out_name: {0: "batch"}},
                              opset_version=spec["opset"], do_constant_folding=True)

    step("export", export)
    np.savez(spec["inputs_path"], **{name: vx[:n].numpy()})
    np.savez(spec["outputs_path"], **{out_name: out.numpy()})
    return {"accuracy_before": acc0, "accuracy": accs, "sparsity": sparsities, "torch_version": torch.__version__}


def main():
    serve(run, "prune")


if __name__ == "__main__":
    main()
