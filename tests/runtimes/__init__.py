"""Checks that the classifier runtimes apps use (MediaPipe Tasks, the TFLite Task Library) take edge-kit models
unchanged and give edge-classify's answers: tests/runtimes/agreement.py."""
