"""Photos -> pix2pix training pairs: HED edges with pix2pix's postprocessing, dataset builder, importers."""
from .detect import extract_edges, hed_probability
from .net import hed_available
from .postprocess import postprocess

__all__ = ["extract_edges", "hed_available", "hed_probability", "postprocess"]
