"""``python -m flask_authrocket.dev [--host 127.0.0.1] [--port 5001] [--login-url URL ...] ...``"""

from __future__ import annotations

from .server import main

if __name__ == "__main__":
    raise SystemExit(main())
