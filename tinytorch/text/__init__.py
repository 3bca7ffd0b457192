"""Text for language modelling: tokenizer, the Shakespeare corpus, batches."""

from .tokenizer import CharTokenizer
from .corpus import SHAKESPEARE_SHA256, SHAKESPEARE_URL, download_shakespeare, load_shakespeare
from .batches import get_batch, train_val_split
