"""pix2pix networks, model folders (safetensors + JSON config) and inference."""
from .config import ConfigError, DiscriminatorConfig, GeneratorConfig, ModelConfig
from .folder import (
    BadModelError,
    MissingWeightsError,
    ModelError,
    check_folder,
    find_models,
    is_model_folder,
    load_generator,
    read_card,
    save_model,
)
from .images import BadImageError, check_size, open_image, to_rgb
from .networks import Discriminator, Generator, receptive_field
from .translator import Translator, load, to_image, to_tensor

__all__ = [
    "BadImageError", "BadModelError", "ConfigError", "Discriminator", "DiscriminatorConfig", "Generator",
    "GeneratorConfig", "MissingWeightsError", "ModelConfig", "ModelError", "Translator", "check_folder",
    "check_size", "find_models", "is_model_folder", "load", "load_generator", "open_image", "read_card",
    "receptive_field", "save_model", "to_image", "to_rgb", "to_tensor",
]
