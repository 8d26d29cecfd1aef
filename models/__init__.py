"""pix2pix networks, model folders (safetensors + JSON config) and inference."""
from .checkpoint import MissingWeightsError, find_models, is_model_folder, load_generator, save_model
from .config import DiscriminatorConfig, GeneratorConfig, ModelConfig
from .images import BadImageError, open_image, to_rgb
from .networks import Discriminator, Generator, receptive_field
from .translator import Translator, load, to_image, to_tensor

__all__ = [
    "BadImageError", "Discriminator", "DiscriminatorConfig", "Generator", "GeneratorConfig",
    "MissingWeightsError", "ModelConfig", "Translator", "find_models", "is_model_folder", "load",
    "load_generator", "open_image", "receptive_field", "save_model", "to_image", "to_rgb", "to_tensor",
]
