"""stt: transcripts and captions from recorded audio through hosted speech-to-text APIs."""

__version__ = "0.1.0"
