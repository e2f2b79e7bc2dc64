"""Small widgets used by the screens."""
