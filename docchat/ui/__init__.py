"""The Textual app. The only package that imports textual; it drives the `Docchat` facade."""
