"""Where flask-authrocket meets other Flask extensions: what the guards need from them, without importing them.

:mod:`~flask_authrocket.integrations.socketio` lets :func:`~flask_authrocket.require_login`
and :func:`~flask_authrocket.require_permission` guard Flask-SocketIO handlers. Nothing here
imports the other library: a Socket.IO event is told by what Flask-SocketIO leaves on the request.
"""
