"""Text for language modelling: tokenizer, the Shakespeare corpus, batches."""

from .batches import get_batch, train_val_split
from .corpus import SHAKESPEARE_SHA256, SHAKESPEARE_URL, download_shakespeare, load_shakespeare
from .tokenizer import CharTokenizer
