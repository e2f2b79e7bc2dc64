"""docchat: chat with your own documents, offline, from the terminal."""

__version__ = "0.1.0"
