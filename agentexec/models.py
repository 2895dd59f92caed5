"""No models. The module exists so that migrate's post_migrate signal reaches this app."""
