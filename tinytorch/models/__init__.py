"""Language models built from tinytorch.nn."""

from .bigram import BigramLanguageModel
from .generation import generate_text
from .gpt import TinyGPT, TinyGPTConfig
from .presets import PRESETS, Preset, preset
