"""Integrators: continuous dynamics ``ẋ = f(x, u)`` -> discrete ``dynamics(x, u, t)``."""

from __future__ import annotations


def euler(f, dt: float):
    """Explicit Euler: ``x' = x + dt · f(x, u)`` (first-order accurate)."""
    def dynamics(x, u, t=0):
        return x + dt * f(x, u)
    return dynamics


def rk4(f, dt: float):
    """Classical Runge–Kutta with the control held over the step (zero-order hold):
    ``x' = x + dt/6 (k₁ + 2k₂ + 2k₃ + k₄)``, fourth-order accurate."""
    def dynamics(x, u, t=0):
        k1 = f(x, u)
        k2 = f(x + 0.5 * dt * k1, u)
        k3 = f(x + 0.5 * dt * k2, u)
        k4 = f(x + dt * k3, u)
        return x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return dynamics
