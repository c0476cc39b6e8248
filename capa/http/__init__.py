"""What every request passes through, pages and API alike: the permission gate and the error answers.

Sits above the domain packages and below :mod:`capa.web` and :mod:`capa.api`.
"""
