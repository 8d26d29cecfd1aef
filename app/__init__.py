"""pix2pix studio: draw in the browser, get a photo back (Gradio UI over `models`)."""
