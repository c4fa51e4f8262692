"""The flask-authrocket example app, run by ``make run`` on the development LoginRocket."""
