"""Language models built from tinytorch.nn."""

from .bigram import BigramLanguageModel
from .gpt import TinyGPT, TinyGPTConfig
from .presets import PRESETS, Preset, preset
from .generation import generate_text
