"""`Optimizer`: what SGD, Adam and AdamW share (parameter groups, lr, zero_grad, state dicts).

An optimizer holds the model's parameters in *parameter groups*: a list of dicts, each with
"params" (a list of Tensors) and its own hyperparameters (lr, weight_decay, ...), as in
PyTorch. `SGD(model.parameters(), lr=0.1)` makes one group; a list of dicts makes several,
e.g. no weight decay for biases and LayerNorm weights:

    AdamW([{"params": matrices}, {"params": vectors, "weight_decay": 0.0}], lr=1e-3)

`step()` reads each parameter's `.grad` (never changes it) and updates `.data` in place,
in numpy: the update itself is not part of any graph.
"""

import numpy as np

from ..tensor import Tensor
from ..validation import non_negative_int, real_number

#: What an optimizer keeps per parameter, and the rule each saved value must follow on load.
STATE_RULES = {
    "step": "a count",  # updates so far (Adam's bias correction divides by 1 - beta^step)
    "exp_avg": "finite",  # Adam's running mean of the gradient
    "exp_avg_sq": "finite and >= 0",  # ... and of its square: sqrt of a negative one is NaN
    "momentum_buffer": "finite",  # SGD's running direction
}


def _as_param_list(params, who: str) -> list:
    """A list of parameter Tensors from a Module, a Tensor or any iterable of Tensors."""
    from ..nn.module import Module  # late import: optim does not need nn at import time

    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{who}: parameter {i} is a {type(p).__name__}, not a Tensor; pass model.parameters() "
                "(or a list of dicts {'params': [...], 'lr': ...} for parameter groups)"
            )
        if not p.requires_grad:
            raise ValueError(
                f"{who}: parameter {i} (shape {p.shape}) does not require grad, so it can never be trained"
            )
    return params


class Optimizer:
    """Base class: keeps parameter groups and per-parameter state; subclasses write `_update`."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # id(param) -> dict of arrays and the param's step count
        from ..nn.module import Module

        if isinstance(params, Module):
            params = params.parameters()  # SGD(model, lr) works as well as SGD(model.parameters(), lr)
        elif isinstance(params, Tensor):
            params = [params]
        items = list(params)
        if not items:
            raise ValueError(
                f"{type(self).__name__} got no parameters: pass model.parameters() of a model that has some"
            )
        if all(isinstance(item, dict) for item in items):
            for group in items:
                self.add_param_group(group)
        else:
            self.add_param_group({"params": items})

    def add_param_group(self, group: dict) -> None:
        """Add a dict {"params": [...], hyperparameter: value, ...}; missing settings take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group is a dict with a 'params' list, got {group!r}")
        params = _as_param_list(group["params"], type(self).__name__)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter appears twice (in one group or in two groups)")
        full = dict(self.defaults)
        full.update({k: v for k, v in group.items() if k != "params"})
        full["params"] = params
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _check_hyperparameters(self, group: dict, where: str = "") -> None:
        """Every hyperparameter of a group in range, or a ValueError naming it: the one home of
        these rules, for the constructor, add_param_group and load_state_dict (`where` names the
        group in a saved state). betas become a tuple of two floats."""
        me = type(self).__name__ + (f" {where}" if where else "")
        real_number(group["lr"], f"{me}: the learning rate lr", minimum=0.0, hint=" (e.g. lr=1e-3)")
        real_number(group.get("weight_decay", 0.0), f"{me}: weight_decay", minimum=0.0)
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{me}: betas must be a pair (beta1, beta2), e.g. (0.9, 0.999), got {betas!r}")
            hint = f" in betas={tuple(betas)}"
            group["betas"] = tuple(real_number(b, f"{me}: betas", minimum=0.0, below=1.0, hint=hint) for b in betas)
        if "eps" in group:
            real_number(group["eps"], f"{me}: eps", minimum=0.0)
        if "momentum" in group:
            real_number(group["momentum"], f"{me}: momentum", minimum=0.0, below=1.0)

    # --- the learning rate ---------------------------------------------------------

    @property
    def lr(self) -> float:
        """The learning rate (of the first group). Setting it sets every group's lr (schedules do this)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value) -> None:
        value = real_number(value, f"{type(self).__name__}: the learning rate lr", minimum=0.0)
        for group in self.param_groups:
            group["lr"] = value

    # --- the update -------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (they add up across backward() calls otherwise)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (parameters with grad None are skipped)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}: a gradient of shape {grad.shape} for a parameter of shape {p.shape}"
                    )
                self._update(p, grad, group, self.state.setdefault(id(p), {}))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    # --- saving and restoring ---------------------------------------------------------

    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """{"type", "state": {index: {...arrays, "step"}}, "param_groups": [{hyperparameters, "params": [indices]}]}.

        Parameters are named by their position across the groups (0, 1, ...), so the state dict
        can be loaded into a new optimizer built over a new model of the same shape. Arrays are copies.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = []
        for group in self.param_groups:
            saved = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {}
        for p in self._all_params():
            entry = self.state.get(id(p))
            if entry:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in entry.items()}
        return {"type": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters, moments and step counts saved by `state_dict()`.

        The saved state is checked as the constructor checks its arguments (the same
        `_check_hyperparameters`, and STATE_RULES for moments and step counts: finite, in range,
        of the parameter's shape); the optimizer must have the same groups of the same sizes.
        Otherwise a ValueError names every key that is wrong and nothing is changed.
        """
        me = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError(
                f"{me}.load_state_dict expects what optimizer.state_dict() returns (with 'state' and 'param_groups')"
            )
        saved_type = state_dict.get("type")
        if saved_type is not None and saved_type != me:
            raise ValueError(f"this optimizer state was saved from {saved_type}, but this optimizer is {me}")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not all(isinstance(g, dict) for g in saved_groups):
            raise ValueError(f"{me}: 'param_groups' must be a list of dicts, got {type(saved_groups).__name__}")
        if not isinstance(saved_state, dict) or not all(isinstance(e, dict) for e in saved_state.values()):
            raise ValueError(f"{me}: 'state' must be a dict of per-parameter dicts, got {type(saved_state).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{me}: the state has {len(saved_groups)} parameter groups, this optimizer {len(self.param_groups)}"
            )
        params = self._all_params()
        problems, groups = [], []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            at = f"param_groups[{g}]"
            indices = saved.get("params")
            if not isinstance(indices, (list, tuple)) or len(indices) != len(group["params"]):
                size = len(indices) if isinstance(indices, (list, tuple)) else repr(indices)
                problems.append(f"{at}: {size} parameters in the state, {len(group['params'])} here")
            unknown = sorted(str(k) for k in saved if k != "params" and k not in group)
            if unknown:
                problems.append(f"{at}: {', '.join(repr(k) for k in unknown)}, which {me} does not use")
            candidate = {k: v for k, v in group.items() if k != "params"}
            candidate.update(
                {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k in group and k != "params"}
            )
            try:
                self._check_hyperparameters(candidate, where=at)
            except ValueError as error:
                problems.append(str(error))
            groups.append(candidate)
        state = {}
        for key, entry in saved_state.items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                problems.append(f"state[{key!r}]: not a parameter index")
                continue
            if not 0 <= i < len(params):
                problems.append(f"state for parameter {i}, but there are only {len(params)}")
                continue
            entry = dict(entry)
            for name, value in entry.items():
                problem = _state_problem(name, value, params[i])
                if problem:
                    problems.append(f"state[{i}][{name!r}]: {problem}")
            state[i] = entry
        if problems:
            raise ValueError(
                f"cannot load this optimizer state into {me} (nothing was changed): " + "; ".join(problems)
            )

        for candidate, group in zip(groups, self.param_groups):
            group.update(candidate)
        self.state = {}
        for i, entry in state.items():
            p = params[i]
            self.state[id(p)] = {k: _restore(k, v, p) for k, v in entry.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            count = sum(p.data.size for p in group["params"])
            lines.append(f"  group {i}: {len(group['params'])} tensors, {count:,} numbers, {settings}")
        return "\n".join(lines) + "\n)"


def _state_problem(name, value, p) -> str | None:
    """Why one saved per-parameter value breaks STATE_RULES (None: it is fine)."""
    rule = STATE_RULES.get(name)
    if rule is None:
        return f"no optimizer keeps {name!r} (known: {', '.join(STATE_RULES)})"
    if rule == "a count":
        try:
            non_negative_int(
                value.item() if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1 else value,
                "the step count",
            )
        except ValueError as error:
            return str(error)
        return None
    array = np.asarray(value) if isinstance(value, (np.ndarray, np.generic, list, float, int)) else None
    if array is None or array.dtype.kind not in "iuf":
        return f"must be an array of numbers, got {type(value).__name__}"
    if array.shape != p.shape:
        return f"has shape {array.shape}, the parameter {p.shape}"
    if not np.all(np.isfinite(array)):
        return "holds NaN or inf (training had diverged when it was saved): load an earlier checkpoint"
    if rule == "finite and >= 0" and np.any(array < 0):
        return "holds negative values (a running mean of squares is never negative)"
    return None


def _restore(name, value, p):
    """One saved state entry back to what `_update` keeps: the step count as an int, moments as arrays."""
    if name == "step":
        return int(np.asarray(value).item())
    if isinstance(value, np.ndarray) and value.shape == p.shape:
        return np.array(value, dtype=p.dtype, copy=True)
    return value.item() if isinstance(value, (np.generic, np.ndarray)) else value
