import cProfile, pstats, time, numpy as np
import tinytorch as tt
from tinytorch.models import preset, TinyGPT
from tinytorch.nn import functional as F
p = preset("browser"); cfg = p.config
tt.manual_seed(0)
model = TinyGPT(cfg)
opt = model.configure_optimizers(weight_decay=p.weight_decay, learning_rate=p.learning_rate, betas=p.betas)
rng = np.random.default_rng(0)
data = rng.integers(0, 65, 200000)
from tinytorch.text.batches import get_batch
from tinytorch.training.loss import LanguageModelLoss
from tinytorch.optim.clip import clip_grad_norm_
loss_fn = LanguageModelLoss()
def step():
    x, y = get_batch(data, p.batch_size, cfg.block_size, rng=rng)
    loss = loss_fn(model(x), y)
    opt.zero_grad(); loss.backward(); clip_grad_norm_(model.parameters(), 1.0); opt.step()
for _ in range(5): step()
t = time.perf_counter()
for _ in range(20): step()
print("ms/step", (time.perf_counter() - t) / 20 * 1000)
pr = cProfile.Profile(); pr.enable()
for _ in range(20): step()
pr.disable()
st = pstats.Stats(pr); st.sort_stats("tottime").print_stats(28)
