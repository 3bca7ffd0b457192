"""Named recipes: a model shape plus how to train it, with what to expect. A preset builds what it
describes (nanoGPT's flow: settings -> GPTConfig -> configure_optimizers -> get_lr):

    from tinytorch.models import preset
    p = preset("browser")
    model, optimizer, trainer = p.build(tokenizer.vocab_size, train_ids, val_ids)
    trainer.fit()                                        # p.max_steps steps

    model = p.build_model(tokenizer.vocab_size)          # or piece by piece, overriding what changes:
    trainer = p.build_trainer(model, train_ids, val_ids, checkpoints=Checkpoints("checkpoints", every=250))
    p.replace(lr=1e-2, n_embd=128)                       # another recipe: a field of the preset or its config

| name    | model (layers x heads x embd, block) | batch | steps | val loss (measured) | native time (measured) |
| ------- | ------------------------------------ | ----- | ----- | ------------------- | ---------------------- |
| tiny    | 1 x 2 x 32, block 16                 | 8     | 200   | 2.74                | 2 ms/step, under 1 s   |
| browser | 2 x 4 x 96, MLP 3x, block 64         | 16    | 1200  | 1.80                | 26 ms/step, 31 s       |
| native  | 4 x 4 x 128, block 64 (nanoGPT CPU)  | 12    | 2000  | 1.89                | 67 ms/step, 2.4 min    |

How each number was measured, and why the browser preset has this shape: benchmarks/README.md
("The presets: what was measured").
"""

import copy
import dataclasses
import warnings
from dataclasses import dataclass, field

from ..optim import CosineWarmup
from ..training import LanguageModelTrainer
from ..training.callbacks import Validation
from .gpt import TinyGPT, TinyGPTConfig


@dataclass
class Preset:
    """A model config, the recipe to train it, and the result to expect.

    config                  the TinyGPTConfig to build (vocab_size 65: the Shakespeare characters)
    batch_size              sequences per step (each config.block_size tokens long)
    lr                      peak learning rate (AdamW; warm-up, then cosine decay to min_lr)
    max_steps               steps to train for; the schedule ends there
    warmup_steps, min_lr    the schedule's warm-up and floor (min_lr None: lr / 10)
    weight_decay, betas     AdamW's (model.configure_optimizers: decay on matrices and embeddings)
    grad_clip               the global gradient norm is clipped to this
    eval_interval           validate every this many steps
    expected_val_loss       validation loss after max_steps on the full corpus (measured)
    seconds_per_step_native one training step with OpenBLAS numpy here (measured)
    seconds_per_step_browser one training step in Pyodide (wasm, Node) here (measured; 0: not measured)
    steps_to_val_2          the first validation with val loss <= 2.0 (measured; 0: never)
    notes                   one line: what the preset is for
    """

    config: TinyGPTConfig
    batch_size: int
    lr: float
    max_steps: int
    expected_val_loss: float
    seconds_per_step_native: float
    notes: str = ""
    seconds_per_step_browser: float = 0.0
    steps_to_val_2: int = 0
    warmup_steps: int = 100
    min_lr: float | None = None
    weight_decay: float = 0.1
    betas: tuple = (0.9, 0.999)
    grad_clip: float = 1.0
    eval_interval: int = 250
    name: str = field(default="", compare=False)

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.config.block_size

    @property
    def learning_rate(self) -> float:
        """The old name of `lr`."""
        warnings.warn("Preset.learning_rate is now Preset.lr", DeprecationWarning, stacklevel=2)
        return self.lr

    def replace(self, **changes) -> "Preset":
        """A copy with some fields changed: the preset's own (lr, batch_size, ...) or its config's (n_embd, ...)."""
        config_fields = {f.name for f in dataclasses.fields(TinyGPTConfig)}
        own = {f.name for f in dataclasses.fields(Preset)}
        unknown = sorted(set(changes) - config_fields - own)
        if unknown:
            raise ValueError(
                f"Preset.replace: no field {', '.join(unknown)}; a preset has {sorted(own)}, "
                f"its config {sorted(config_fields)}"
            )
        config = dataclasses.replace(self.config, **{k: v for k, v in changes.items() if k in config_fields})
        return dataclasses.replace(self, config=config, **{k: v for k, v in changes.items() if k in own - {"config"}})

    # --- what it builds, in the order training needs it ------------------------------------

    def model_config(self, vocab_size: int = None) -> TinyGPTConfig:
        """The config, for a tokenizer with `vocab_size` characters (default: the preset's 65)."""
        return self.config if vocab_size is None else dataclasses.replace(self.config, vocab_size=vocab_size)

    def build_model(self, vocab_size: int = None) -> TinyGPT:
        """A fresh TinyGPT (seed it first with tinytorch.manual_seed for the same start every time)."""
        return TinyGPT(self.model_config(vocab_size))

    def build_optimizer(self, model):
        """AdamW with the preset's lr, betas and weight decay, split as nanoGPT does (model.configure_optimizers)."""
        return model.configure_optimizers(weight_decay=self.weight_decay, lr=self.lr, betas=self.betas)

    def lr_schedule(self) -> CosineWarmup:
        """Warm-up to lr over warmup_steps, cosine decay to min_lr at max_steps."""
        return CosineWarmup(lr=self.lr, max_steps=self.max_steps, warmup_steps=self.warmup_steps, min_lr=self.min_lr)

    def build_trainer(self, model, train_data, val_data, **overrides) -> LanguageModelTrainer:
        """A LanguageModelTrainer with this recipe; `overrides` are trainer arguments that change
        (e.g. loss_fn=, checkpoints=, probe=, callbacks=, progress=, optimizer=)."""
        settings = dict(
            optimizer=None,
            block_size=self.config.block_size,
            batch_size=self.batch_size,
            lr_schedule=self.lr_schedule(),
            grad_clip=self.grad_clip,
            validation=None if val_data is None else Validation(every=self.eval_interval),
        )
        settings.update(overrides)
        optimizer = settings.pop("optimizer") or self.build_optimizer(model)
        return LanguageModelTrainer(model, optimizer, train_data, val_data, **settings)

    def build(self, vocab_size: int, train_data, val_data, **overrides):
        """(model, optimizer, trainer): a fresh model and everything that trains it."""
        model = self.build_model(vocab_size)
        trainer = self.build_trainer(model, train_data, val_data, **overrides)
        return model, trainer.optimizer, trainer


PRESETS = {
    "tiny": Preset(
        name="tiny",
        config=TinyGPTConfig(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=32),
        batch_size=8,
        lr=1e-2,
        max_steps=200,
        expected_val_loss=2.75,
        seconds_per_step_native=0.0022,
        warmup_steps=20,
        eval_interval=50,
        notes="For tests and CI: trains in under a second; shows only that the loss falls.",
    ),
    "browser": Preset(
        name="browser",
        config=TinyGPTConfig(vocab_size=65, block_size=64, n_layer=2, n_head=4, n_embd=96, mlp_ratio=3, init_std=0.05),
        batch_size=16,
        lr=5e-3,
        warmup_steps=50,
        weight_decay=0.01,
        max_steps=1200,
        eval_interval=100,
        expected_val_loss=1.80,
        seconds_per_step_native=0.026,
        seconds_per_step_browser=0.060,
        steps_to_val_2=600,
        notes="A real GPT for a browser tab (2 layers, context 64): the fastest time to val loss 1.90 in Pyodide.",
    ),
    "native": Preset(
        name="native",
        config=TinyGPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128),
        batch_size=12,
        lr=1e-3,
        max_steps=2000,
        expected_val_loss=1.89,
        seconds_per_step_native=0.067,
        seconds_per_step_browser=1.0,  # 7.8-8.1x the browser preset's step in Pyodide (interleaved)
        steps_to_val_2=1250,
        warmup_steps=100,
        betas=(0.9, 0.99),  # nanoGPT's choice for few tokens per step
        notes="nanoGPT's CPU Shakespeare config: for a native Python with BLAS.",
    ),
}


def preset(name: str) -> Preset:
    """The preset called `name` ("tiny", "browser" or "native"); a copy, so changing it is safe.

    Give your tokenizer's vocab_size when building: p.build_model(tokenizer.vocab_size).
    """
    key = str(name).lower()
    if key not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {sorted(PRESETS)}")
    return copy.deepcopy(PRESETS[key])
